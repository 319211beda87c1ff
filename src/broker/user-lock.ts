import type { Store } from "../store/store.js";
import { KeyedMutex } from "./keyed-mutex.js";

/**
 * Serialises work on one user: within this process (KeyedMutex) and across processes sharing the
 * store (its lock; an advisory lock on PostgreSQL), so that a storm neither multiplies upstream
 * calls nor writes conflicting rows, and a revocation is never overtaken by an issuance.
 * State that decides anything is read inside the lock.
 */
export class UserLocks {
  private readonly mutex = new KeyedMutex();
  constructor(private readonly store: Store) {}

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, () => this.store.withUserLock(key, task));
  }
}
