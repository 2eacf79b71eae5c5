/**
 * The watched names of PORT_SOURCE_FILE associations, in kernel memory, so
 * that whichever thread hears of a link-count change (the intr thread) can
 * tell what happened to the name, which inotify on the file itself does not
 * say: the name gone is FILE_DELETE, the name now another file's is
 * FILE_RENAME_TO (something renamed onto it), the name still the file's is
 * another link's business. A name is kept in a fixed slot per association
 * (NAME_BYTES of UTF-8); a longer one is not kept, and then only the last
 * link going says FILE_DELETE. Slots are indexed like the associations and
 * guarded by the port-file lock (F), as the association is.
 */
import { I32, kregion_create } from '../kern/kmem.js';
import * as ix from '../intr/kapi.js';

const NAME_BYTES = 252;
const SLOT_WORDS = 1 + NAME_BYTES / 4; // byte length (0: none), then the bytes
const names = kregion_create('portfile_names', (t) => t.port_file_max! * SLOT_WORDS);

function bytes(i: number, n: number): Uint8Array {
  return new Uint8Array(I32.buffer, (names.base + i * SLOT_WORDS + 1) * 4, n);
}

/** Keeps association i's name (F held). */
export function fname_set(i: number, name: string): void {
  const b = Buffer.from(name, 'utf8');
  const w = names.base + i * SLOT_WORDS;
  if (b.length > NAME_BYTES) { I32[w] = 0; return; }
  bytes(i, b.length).set(b);
  I32[w] = b.length;
}

/** What association i's name is now, against the file's identity (F held; clobbers ix.inof.xst). */
export const NAME_UNKNOWN = 0, NAME_GONE = 1, NAME_OTHER = 2, NAME_SAME = 3;
export function fname_check(i: number, nofollow: boolean, id: readonly [number, number, number, number]): number {
  const n = I32[names.base + i * SLOT_WORDS]!;
  if (n === 0) return NAME_UNKNOWN;
  const name = Buffer.from(bytes(i, n)).toString('utf8');
  if (ix.inof.os_stat_path(name, nofollow) < 0) {
    const e = ix.os_errno();
    return e === 2 /* ENOENT */ || e === 20 /* ENOTDIR */ ? NAME_GONE : NAME_UNKNOWN;
  }
  const x = ix.inof.xst;
  return x.inoLo === id[0] && x.inoHi === id[1] && x.devMajor === id[2] && x.devMinor === id[3] ? NAME_SAME : NAME_OTHER;
}
