/**
 * The standard VQA accuracy, ported from the official evaluation script
 * (GT-Vision-Lab/VQA, PythonEvaluationTools/vqaEvaluation/vqaEval.py, by Aishwarya Agrawal; the
 * same code scores TextVQA): the tables and the order of the steps are the script's, quirks
 * included, so that scores match it exactly.
 */

/** vqaEval.py `self.contractions`. */
const CONTRACTIONS: Readonly<Record<string, string>> = {
  aint: "ain't",
  arent: "aren't",
  cant: "can't",
  couldve: "could've",
  couldnt: "couldn't",
  "couldn'tve": "couldn't've",
  "couldnt've": "couldn't've",
  didnt: "didn't",
  doesnt: "doesn't",
  dont: "don't",
  hadnt: "hadn't",
  "hadnt've": "hadn't've",
  "hadn'tve": "hadn't've",
  hasnt: "hasn't",
  havent: "haven't",
  hed: "he'd",
  "hed've": "he'd've",
  "he'dve": "he'd've",
  hes: "he's",
  howd: "how'd",
  howll: "how'll",
  hows: "how's",
  "Id've": "I'd've",
  "I'dve": "I'd've",
  Im: "I'm",
  Ive: "I've",
  isnt: "isn't",
  itd: "it'd",
  "itd've": "it'd've",
  "it'dve": "it'd've",
  itll: "it'll",
  "let's": "let's",
  maam: "ma'am",
  mightnt: "mightn't",
  "mightnt've": "mightn't've",
  "mightn'tve": "mightn't've",
  mightve: "might've",
  mustnt: "mustn't",
  mustve: "must've",
  neednt: "needn't",
  notve: "not've",
  oclock: "o'clock",
  oughtnt: "oughtn't",
  "ow's'at": "'ow's'at",
  "'ows'at": "'ow's'at",
  "'ow'sat": "'ow's'at",
  shant: "shan't",
  "shed've": "she'd've",
  "she'dve": "she'd've",
  "she's": "she's",
  shouldve: "should've",
  shouldnt: "shouldn't",
  "shouldnt've": "shouldn't've",
  "shouldn'tve": "shouldn't've",
  "somebody'd": 'somebodyd',
  "somebodyd've": "somebody'd've",
  "somebody'dve": "somebody'd've",
  somebodyll: "somebody'll",
  somebodys: "somebody's",
  someoned: "someone'd",
  "someoned've": "someone'd've",
  "someone'dve": "someone'd've",
  someonell: "someone'll",
  someones: "someone's",
  somethingd: "something'd",
  "somethingd've": "something'd've",
  "something'dve": "something'd've",
  somethingll: "something'll",
  thats: "that's",
  thered: "there'd",
  "thered've": "there'd've",
  "there'dve": "there'd've",
  therere: "there're",
  theres: "there's",
  theyd: "they'd",
  "theyd've": "they'd've",
  "they'dve": "they'd've",
  theyll: "they'll",
  theyre: "they're",
  theyve: "they've",
  twas: "'twas",
  wasnt: "wasn't",
  "wed've": "we'd've",
  "we'dve": "we'd've",
  weve: "we've",
  werent: "weren't",
  whatll: "what'll",
  whatre: "what're",
  whats: "what's",
  whatve: "what've",
  whens: "when's",
  whered: "where'd",
  wheres: "where's",
  whereve: "where've",
  whod: "who'd",
  "whod've": "who'd've",
  "who'dve": "who'd've",
  wholl: "who'll",
  whos: "who's",
  whove: "who've",
  whyll: "why'll",
  whyre: "why're",
  whys: "why's",
  wont: "won't",
  wouldve: "would've",
  wouldnt: "wouldn't",
  "wouldnt've": "wouldn't've",
  "wouldn'tve": "wouldn't've",
  yall: "y'all",
  "yall'll": "y'all'll",
  "y'allll": "y'all'll",
  "yall'd've": "y'all'd've",
  "y'alld've": "y'all'd've",
  "y'all'dve": "y'all'd've",
  youd: "you'd",
  "youd've": "you'd've",
  "you'dve": "you'd've",
  youll: "you'll",
  youre: "you're",
  youve: "you've",
};

/** vqaEval.py `self.manualMap`: number words to digits. */
const MANUAL_MAP: Readonly<Record<string, string>> = {
  none: '0',
  zero: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
};

const ARTICLES = new Set(['a', 'an', 'the']);

/** vqaEval.py `self.punct` (no period, apostrophe or colon: those are handled, or kept, elsewhere). */
const PUNCT = [
  ';',
  '/',
  '[',
  ']',
  '"',
  '{',
  '}',
  '(',
  ')',
  '=',
  '+',
  '\\',
  '_',
  '-',
  '>',
  '<',
  '@',
  '`',
  ',',
  '?',
  '!',
];

/** `(\d)(\,)(\d)`: a comma between digits (as in 1,000). */
const COMMA_STRIP = /(\d)(,)(\d)/;
/**
 * `(?!<=\d)(\.)(?!\d)`: the script means a look-behind but wrote a look-ahead for "<=", so in effect
 * it removes every period not followed by a digit. The script passes re.UNICODE (32) as `count`,
 * so at most 32 periods are removed.
 */
const PERIOD_STRIP = /(?!<=\d)(\.)(?!\d)/g;
const PERIOD_STRIP_COUNT = 32;

/** vqaEval.py `processPunctuation`. */
export function processPunctuation(inText: string): string {
  let outText = inText;
  const commaBetweenDigits = COMMA_STRIP.test(inText);
  for (const p of PUNCT) {
    // The test reads the input, the replacement writes the output, as in the script.
    if (inText.includes(`${p} `) || inText.includes(` ${p}`) || commaBetweenDigits) {
      outText = outText.split(p).join('');
    } else {
      outText = outText.split(p).join(' ');
    }
  }
  let removed = 0;
  return outText.replace(PERIOD_STRIP, (m) => (removed++ < PERIOD_STRIP_COUNT ? '' : m));
}

/** vqaEval.py `processDigitArticle`: lower case, number words to digits, no articles, contractions. */
export function processDigitArticle(inText: string): string {
  const words: string[] = [];
  // Python's str.split() splits on runs of whitespace and drops empty pieces.
  for (const raw of inText.toLowerCase().split(/\s+/)) {
    if (raw === '') continue;
    const word = Object.hasOwn(MANUAL_MAP, raw) ? MANUAL_MAP[raw]! : raw;
    if (!ARTICLES.has(word)) words.push(word);
  }
  return words.map((w) => (Object.hasOwn(CONTRACTIONS, w) ? CONTRACTIONS[w]! : w)).join(' ');
}

/** The script's cleanup of a predicted answer: newlines and tabs to spaces, strip, then both steps. */
export function normalizePrediction(answer: string): string {
  const stripped = answer.replace(/\n/g, ' ').replace(/\t/g, ' ').trim();
  return processDigitArticle(processPunctuation(stripped));
}

/**
 * Accuracy of one predicted answer against the human answers (ten in VQA v2 and TextVQA): for each
 * answer left out in turn, min(#matches among the others / 3, 1); the mean over those subsets.
 * As in the script, the human answers get processPunctuation only when they are not all equal
 * (the official annotations are already normalised otherwise).
 */
export function vqaAccuracy(prediction: string, answers: readonly string[]): number {
  if (answers.length === 0) return 0;
  const resAns = normalizePrediction(prediction);
  const gts = new Set(answers).size > 1 ? answers.map(processPunctuation) : [...answers];
  let sum = 0;
  for (let i = 0; i < gts.length; i++) {
    let matches = 0;
    for (let j = 0; j < gts.length; j++) if (j !== i && gts[j] === resAns) matches++;
    sum += Math.min(1, matches / 3);
  }
  return sum / gts.length;
}
