// Write batching for fan-out: a stream written to during one event-loop turn
// is corked until the turn ends, so every publish handled in that turn
// reaches it in one write (one writev syscall instead of one per message).

interface Corkable {
  cork(): void;
  uncork(): void;
}

export class TurnCork {
  private readonly corked = new Set<Corkable>();

  /** Cork `stream` (once per turn) before writing to it. */
  hold(stream: Corkable): void {
    if (this.corked.has(stream)) return;
    this.corked.add(stream);
    stream.cork();
    if (this.corked.size === 1) setImmediate(this.release);
  }

  private readonly release = (): void => {
    for (const stream of this.corked) stream.uncork();
    this.corked.clear();
  };
}
