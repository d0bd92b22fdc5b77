import nodemailer from 'nodemailer';
import type { HooklinePlugin, PluginContext } from './api.js';

/**
 * Built-in `email`: alerts over SMTP, as the guide's EmailNotificationPlugin.
 * - webhook:failed once a delivery has failed HOOKLINE_ALERT_THRESHOLD attempts (default 3) and
 *   whenever a failure ends a delivery;
 * - webhook:dead_lettered, endpoint:down, endpoint:circuit_opened.
 * Settings: HOOKLINE_ALERT_SMTP_URL (smtp://user:pass@host:port), HOOKLINE_ALERT_EMAIL_TO (comma
 * separated), HOOKLINE_ALERT_EMAIL_FROM (default hookline@localhost).
 */
export default function emailPlugin({ settings = {} }: PluginContext): HooklinePlugin {
  const { alertSmtpUrl: url, alertEmailTo: to, alertThreshold: threshold = 3 } = settings;
  if (!url || !to)
    throw new Error('the email plugin needs HOOKLINE_ALERT_SMTP_URL and HOOKLINE_ALERT_EMAIL_TO');
  const transport = nodemailer.createTransport(url);
  const from = settings.alertEmailFrom ?? 'hookline@localhost';
  const send = (subject: string, text: string) => transport.sendMail({ from, to, subject, text });

  return {
    name: 'email',
    version: '1.0.0',
    hooks: {
      'webhook:failed': async (c) => {
        if (c.attempts < threshold && c.willRetry) return;
        await send(
          `Webhook failed: ${c.endpoint.name}`,
          [
            `Delivery ${c.deliveryId} failed after ${c.attempts} attempt(s)${c.willRetry ? '; it will be retried' : '; it will not be retried'}.`,
            ``,
            `Endpoint: ${c.endpoint.name} (${c.endpoint.url})`,
            `Event: ${c.event.type} ${c.event.id}`,
            `Error: ${c.statusCode ? `HTTP ${c.statusCode}` : (c.error ?? 'unknown')}`,
          ].join('\n'),
        );
      },
      'webhook:dead_lettered': async (c) => {
        await send(
          `Dead letter: ${c.endpoint.name}`,
          `Delivery ${c.deliveryId} of ${c.event.type} ${c.event.id} to ${c.endpoint.url} became a dead letter after ${c.attempts} attempt(s): ${c.reason}.\nReplay it from the dashboard or with POST /api/dead-letters/<id>/replay.`,
        );
      },
      'endpoint:circuit_opened': async (c) => {
        await send(
          `Circuit opened: ${c.endpoint.name}`,
          `The circuit breaker of ${c.endpoint.name} (${c.endpoint.url}) opened after ${c.consecutiveFailures} consecutive failures. Deliveries are held, not dropped.`,
        );
      },
      'endpoint:down': async (c) => {
        await send(
          `Endpoint down: ${c.endpoint.name}`,
          `Endpoint has been down for ${c.downTime} minutes (since ${c.downSince}).\n\nURL: ${c.endpoint.url}\nName: ${c.endpoint.name}\n\nPlease investigate.`,
        );
      },
    },
    cleanup: () => transport.close(),
  };
}
