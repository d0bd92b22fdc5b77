// The workflow bundle's entry point: every workflow type the worker registers.
export { eventWorkflow } from './event.js';
export { deliveryWorkflow } from './delivery.js';
export { endpointWorkflow } from './endpoint.js';
export { retentionWorkflow } from './retention.js';
