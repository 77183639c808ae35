// Starts the compute worker from TypeScript source through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
