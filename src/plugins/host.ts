import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';

import {
  HOOKS,
  IngestRejected,
  type HookContexts,
  type HookName,
  type HooklinePlugin,
  type IngestEvent,
  type PluginContext,
  type PluginModule,
} from './api.js';

export * from './api.js';

/** A hook gets this long before it is abandoned (it keeps running, but nothing waits for it). */
const HOOK_TIMEOUT_MS = 10_000;

export interface PluginHost {
  readonly plugins: readonly HooklinePlugin[];
  /** Whether some plugin has this hook (so callers skip the I/O of building its context). */
  has(hook: HookName): boolean;
  /** Fires a hook on every plugin that has it, without waiting; a failing plugin is logged, never thrown. */
  emit<H extends HookName>(hook: H, context: HookContexts[H]): void;
  /** Resolves when every hook fired so far has settled (tests, shutdown). */
  settled(): Promise<void>;
  /** Runs every plugin's ingest middleware in order; throws IngestRejected. */
  ingest(event: IngestEvent): Promise<IngestEvent>;
  cleanup(): Promise<void>;
}

export function createPluginHost(
  plugins: readonly HooklinePlugin[],
  log: Logger,
  onError: (plugin: string, hook: string) => void = () => {},
): PluginHost {
  const pending = new Set<Promise<unknown>>();
  return {
    plugins,
    has: (hook) => plugins.some((p) => p.hooks?.[hook]),
    emit(hook, context) {
      for (const plugin of plugins) {
        const handler = plugin.hooks?.[hook] as ((c: unknown) => unknown) | undefined;
        if (!handler) continue;
        let timer: NodeJS.Timeout | undefined;
        const run = Promise.race([
          Promise.resolve().then(() => handler(context)),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`no answer within ${HOOK_TIMEOUT_MS} ms`)),
              HOOK_TIMEOUT_MS,
            );
            timer.unref();
          }),
        ])
          .catch((err: unknown) => {
            onError(plugin.name, hook);
            log.warn({ err, plugin: plugin.name, hook }, 'plugin hook failed');
          })
          .finally(() => {
            clearTimeout(timer);
            pending.delete(run);
          });
        pending.add(run);
      }
    },
    async settled() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    async ingest(event) {
      let current = event;
      for (const plugin of plugins) {
        if (!plugin.ingest) continue;
        let out: Awaited<ReturnType<NonNullable<HooklinePlugin['ingest']>>>;
        try {
          out = await plugin.ingest(current);
        } catch (err) {
          throw new IngestRejected(plugin.name, (err as Error).message);
        }
        if (out && 'reject' in out) throw new IngestRejected(plugin.name, out.reject);
        if (out) current = out;
      }
      return current;
    },
    async cleanup() {
      await this.settled();
      for (const plugin of plugins) {
        try {
          await plugin.cleanup?.();
        } catch (err) {
          log.warn({ err, plugin: plugin.name }, 'plugin cleanup failed');
        }
      }
    },
  };
}

const BUILT_IN: Record<string, () => Promise<{ default: PluginModule }>> = {
  email: () => import('./email.js'),
  'operational-webhook': () => import('./operational-webhook.js'),
};

/**
 * Loads the plugins named in HOOKLINE_PLUGINS, in order: built-in names (`email`,
 * `operational-webhook`), paths (relative to the working directory) or package names. A plugin
 * that cannot load stops the start with its name and reason; a plugin's hooks never can.
 */
export async function loadPlugins(
  specs: readonly string[],
  ctx: PluginContext,
  onError?: (plugin: string, hook: string) => void,
): Promise<PluginHost> {
  const plugins: HooklinePlugin[] = [];
  for (const spec of specs) {
    let mod: { default?: PluginModule };
    try {
      mod = BUILT_IN[spec]
        ? await BUILT_IN[spec]()
        : await import(
            spec.startsWith('.') || path.isAbsolute(spec) ? pathToFileURL(path.resolve(spec)).href : spec
          );
    } catch (err) {
      throw new Error(`plugin ${spec} could not be loaded: ${(err as Error).message}`, { cause: err });
    }
    const exported = mod.default;
    if (!exported) throw new Error(`plugin ${spec} has no default export`);
    const plugin = typeof exported === 'function' ? await exported(ctx) : exported;
    if (!plugin?.name) throw new Error(`plugin ${spec} has no name`);
    for (const hook of Object.keys(plugin.hooks ?? {})) {
      if (!(HOOKS as readonly string[]).includes(hook)) {
        throw new Error(`plugin ${plugin.name}: unknown hook ${hook} (hooks: ${HOOKS.join(', ')})`);
      }
    }
    await plugin.initialize?.();
    ctx.log.info({ plugin: plugin.name, version: plugin.version }, 'plugin loaded');
    plugins.push(plugin);
  }
  return createPluginHost(plugins, ctx.log, onError);
}
