/** Workflow ids are business ids (DESIGN.md), so duplicate starts are harmless and findable. */
export const eventWorkflowId = (eventId: string): string => `event:${eventId}`;
export const deliveryWorkflowId = (eventId: string, endpointId: string): string =>
  `delivery:${eventId}:${endpointId}`;
export const endpointWorkflowId = (endpointId: string): string => `endpoint:${endpointId}`;

/** The Standard Webhooks `webhook-id`: stable per event and endpoint, no dots. */
export const webhookMessageId = (eventId: string, endpointId: string): string =>
  `msg_${eventId}_${endpointId}`.replace(/[^A-Za-z0-9_-]/g, '');
