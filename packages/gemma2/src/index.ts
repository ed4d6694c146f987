export * from './generation/index.js';
