// A program that leaves aio requests in flight (a pipe read nobody writes,
// file reads) and then ends: by process.exit(3) with argv[2] 'exit', or by
// its event loop running dry otherwise. Either way the process must end at
// once, on both engines (run by aio-close.test.ts with a deadline).
import { writeFileSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sys from 'ukern/sys';
import { pipe } from '../fixtures/osfd.js';

const [r] = pipe();
const f = join(tmpdir(), `ukern-aio-exit-${process.pid}`);
writeFileSync(f, Buffer.alloc(1 << 16, 1));
const fd = openSync(f, 'r');
const port = sys.port_create();
const ev = { sigev_notify: sys.SIGEV_PORT, sigev_notify_port: { portnfy_port: port, portnfy_user: 0 } };
for (let i = 0; i < 4; i++) sys.aio_read({ aio_fildes: r, aio_offset: 0, aio_buf: new Uint8Array(new SharedArrayBuffer(8)), aio_nbytes: 8, aio_sigevent: ev });
for (let i = 0; i < 16; i++) sys.aio_read({ aio_fildes: fd, aio_offset: i * 4096, aio_buf: new Uint8Array(new SharedArrayBuffer(4096)), aio_nbytes: 4096 });
console.log(`in flight: ${sys.kstat('aio')['aio.in_flight']! >= 4}`);
if (process.argv[2] === 'exit') process.exit(3);
