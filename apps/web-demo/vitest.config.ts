import { packageProject } from '@pali/vitest-config';

export default packageProject(import.meta.url);
