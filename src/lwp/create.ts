/** Hands a new LWP to lwp0, which gives it a warm worker thread (the LWP is RUN or SUSPENDED by then: lwp/lwp.ts's state table). */
import { lwp0_post, lwp0_refresh } from './spawn.js';

export function lwp_pool_post_create(lid: number, module: string, exp: string, arg: unknown): void {
  lwp0_post({ t: 'create', lid, module, exp, arg });
  lwp0_refresh();
}
