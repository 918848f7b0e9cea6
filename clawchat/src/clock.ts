/**
 * The clock every ClawChat timer runs on. The server and the client never call
 * `Date.now()` or `setTimeout` directly, so tests drive hours of rotations and
 * expiries in milliseconds with `ManualClock`.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

/**
 * The timers of one server or client: `clear` cancels every one still armed
 * (on close), and a timer that fires after `isClosed()` turned true does nothing.
 */
export class TimerSet {
  private readonly armed = new Set<TimerHandle>();

  constructor(
    private readonly clock: Clock,
    private readonly isClosed: () => boolean = () => false,
  ) {}

  arm(callback: () => void, delayMs: number): TimerHandle {
    const handle = this.clock.setTimeout(() => {
      this.armed.delete(handle);
      if (!this.isClosed()) callback();
    }, delayMs);
    this.armed.add(handle);
    return handle;
  }

  disarm(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.clock.clearTimeout(handle);
    this.armed.delete(handle);
  }

  clear(): void {
    for (const handle of this.armed) this.clock.clearTimeout(handle);
    this.armed.clear();
  }
}

/** Node's `setTimeout` caps delays at 2^31-1 ms (24.8 days); longer timers are chained. */
const MAX_NODE_DELAY_MS = 2_147_483_647;

export class SystemClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const handle = { id: this.nextId++ };
    const due = Date.now() + Math.max(0, delayMs);
    const arm = (): void => {
      const remaining = due - Date.now();
      const timer = setTimeout(
        () => {
          if (due - Date.now() > 0) arm();
          else {
            this.timers.delete(handle.id);
            callback();
          }
        },
        Math.min(Math.max(0, remaining), MAX_NODE_DELAY_MS),
      );
      timer.unref();
      this.timers.set(handle.id, timer);
    };
    arm();
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = this.timers.get(handle.id);
    if (timer) clearTimeout(timer);
    this.timers.delete(handle.id);
  }
}

interface ManualTimer {
  readonly id: number;
  readonly due: number;
  readonly callback: () => void;
}

/** A clock that only moves when a test calls `advance`; due timers fire in order. */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, ManualTimer>();

  constructor(startMs = Date.UTC(2026, 1, 22, 12, 0, 0)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.current + Math.max(0, delayMs), callback });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Moves time forward by `ms`, firing every timer that falls due (including ones armed while firing). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const timer of this.timers.values()) {
        if (timer.due <= target && (!next || timer.due < next.due || (timer.due === next.due && timer.id < next.id))) {
          next = timer;
        }
      }
      if (!next) break;
      this.timers.delete(next.id);
      this.current = Math.max(this.current, next.due);
      next.callback();
    }
    this.current = target;
  }

  pendingTimers(): number {
    return this.timers.size;
  }
}
