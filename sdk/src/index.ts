export * from './client.js';
export * from './verify.js';
