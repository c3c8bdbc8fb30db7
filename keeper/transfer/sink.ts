/**
 * Where a fetch to a file writes: `<dest>.lumora-part` at each part's offset, renamed to `dest` once the
 * whole object verified. The partial file plus the store's verified-part rows are what a resume trusts.
 */
import { open, rename, rm, stat, type FileHandle } from "node:fs/promises";

export const PARTIAL_SUFFIX = ".lumora-part";

export class FileSink {
  private readonly writes = new Set<Promise<void>>();

  private constructor(
    readonly dest: string,
    readonly partial: string,
    private readonly fh: FileHandle,
    private readonly partSize: number,
  ) {}

  /** Opens the partial file: kept as is when resuming, else created empty. */
  static async open(dest: string, partSize: number, resume: boolean): Promise<FileSink> {
    const partial = dest + PARTIAL_SUFFIX;
    const fh = await open(partial, resume ? "r+" : "w+");
    return new FileSink(dest, partial, fh, partSize);
  }

  static async partialExists(dest: string): Promise<boolean> {
    return stat(dest + PARTIAL_SUFFIX).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /** Writes one part (its chunks, in one vectored write) at its offset; `settled()` waits for all writes
   * issued so far. */
  write(index: number, chunks: readonly Uint8Array[]): Promise<void> {
    const p = (async () => {
      let position = index * this.partSize;
      let rest = chunks.filter((c) => c.length > 0);
      while (rest.length > 0) {
        let { bytesWritten } = await this.fh.writev(rest, position);
        position += bytesWritten;
        // a short write: drop what went out, keep the remainder of a partly written chunk
        while (rest.length > 0 && bytesWritten >= rest[0].length) bytesWritten -= rest.shift()!.length;
        if (bytesWritten > 0) rest[0] = rest[0].subarray(bytesWritten);
      }
    })();
    this.writes.add(p);
    p.finally(() => this.writes.delete(p)).catch(() => {});
    return p;
  }

  async read(index: number, length: number): Promise<Buffer | undefined> {
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await this.fh.read(buf, 0, length, index * this.partSize);
    return bytesRead === length ? buf : undefined;
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.writes]);
  }

  /** Makes every write so far durable. */
  async sync(): Promise<void> {
    await this.settled();
    await this.fh.datasync();
  }

  /** Syncs, truncates to `size`, closes and renames the partial file to its destination. */
  async finish(size: number): Promise<void> {
    await this.sync();
    await this.fh.truncate(size);
    await this.fh.close();
    await rename(this.partial, this.dest);
  }

  async close(options: { remove?: boolean } = {}): Promise<void> {
    await this.settled();
    await this.fh.close().catch(() => {});
    if (options.remove === true) await rm(this.partial, { force: true });
  }
}
