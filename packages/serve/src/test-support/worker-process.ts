// A batch worker in its own process, for the kill test: `node --import tsx --conditions=source worker-process.ts REDIS QUEUE MODEL`.
import { loadPaliGemma } from '@pali/node';
import { startBatchWorker } from '../queue/worker.js';

const [redisUrl, queueName, model] = process.argv.slice(2);
const pg = await loadPaliGemma(model!, { threads: 1 });
const worker = await startBatchWorker(pg, {
  redisUrl: redisUrl!,
  queueName: queueName!,
  lockDuration: 1500,
  stalledInterval: 500,
  maxStalledCount: 3,
  onJob: (e) => process.stdout.write(`job ${e.id}\n`),
});
worker.worker.on('stalled', (id) => process.stdout.write(`stalled ${id}\n`));
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void worker
    .close()
    .then(() => pg.dispose())
    .then(() => process.exit(0));
});
