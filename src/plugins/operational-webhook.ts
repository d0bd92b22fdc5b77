import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { signatureHeaders } from '../domain/signing.js';
import { VERSION } from '../version.js';
import { HOOKS, type HookName, type HooklinePlugin, type PluginContext } from './api.js';

/**
 * Built-in `operational-webhook`: posts every notification but `webhook:delivered` (failures,
 * dead letters, circuit changes, endpoint down) to a URL of the operator's choice,
 * signed like any delivery (Standard Webhooks headers and X-Hookline-Signature), with the body
 * `{ type: "webhook.failed" | …, timestamp, data }`. Settings: HOOKLINE_OPS_WEBHOOK_URL,
 * HOOKLINE_OPS_WEBHOOK_SECRET (a whsec_ secret or any string).
 */
export default function operationalWebhookPlugin({ settings = {}, log }: PluginContext): HooklinePlugin {
  const { opsWebhookUrl: url, opsWebhookSecret: secret } = settings;
  if (!url || !secret) {
    throw new Error(
      'the operational-webhook plugin needs HOOKLINE_OPS_WEBHOOK_URL and HOOKLINE_OPS_WEBHOOK_SECRET',
    );
  }

  const post = async (hook: HookName, data: unknown) => {
    const id = `ops_${randomUUID()}`;
    const type = hook.replace(':', '.');
    const body = JSON.stringify({ type, timestamp: new Date().toISOString(), data });
    const res = await request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': `Hookline/${VERSION}`,
        ...signatureHeaders({
          webhookId: id,
          eventId: id,
          eventType: type,
          timestampSeconds: Math.floor(Date.now() / 1000),
          body,
          secrets: [secret],
        }),
      },
      body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
    if (res.statusCode >= 300) log.warn({ hook, statusCode: res.statusCode }, 'operational webhook refused');
  };

  return {
    name: 'operational-webhook',
    version: '1.0.0',
    hooks: Object.fromEntries(
      HOOKS.filter((hook) => hook !== 'webhook:delivered').map((hook) => [
        hook,
        (context: unknown) => post(hook, context),
      ]),
    ),
  };
}
