/**
 * port_event_t as the application receives it, and the one place that makes
 * them.
 *
 * Why a factory with its fields primed at module load. V8 gives each field
 * of an object shape a representation (small integer, double, any value)
 * from the values stored so far; a double arriving in a field that so far
 * held small integers (a portev_user of 0.5 after 1, 2, 3; a source's
 * portev_object read from kernel memory as a double) moves the shape to a
 * new one and deprecates the old. Event objects made afterwards from an
 * object literal whose template still has the old shape are each migrated
 * when first touched: in a cold 1 -> 1 stream that turned a third of the
 * runs into ~220 ns per event for the whole run (the consumer inside
 * V8's TryMigrateInstance), once the general take had made one event with a
 * double. Here every event comes from one literal, whose fields are made to
 * hold any value before the first real event: no later value changes the
 * shape, so every event of the process shares one map.
 */
import type { Timespec } from '../kern/time.js';

/**
 * One event of a port (illumos port_event_t): `portev_source` the source
 * (PORT_SOURCE_*), `portev_events` its events word (a timer's expirations,
 * an fd's poll bits...), `portev_object` what it concerns (a timer id, a
 * descriptor, an aio_id; 0 for a send), `portev_user` the user word given
 * with the send, the association or the sigevent.
 */
export interface port_event_t {
  portev_events: number;
  portev_source: number;
  portev_object: number;
  portev_user: number;
}

/**
 * PORT_SOURCE_FILE's object (sys/port.h struct file_obj): the path to watch
 * and the times a stat of it gave. An event of the association carries this
 * very object in portev_object when retrieved by the thread that associated
 * it; in another thread, the number that names it in the kernel (which
 * port_dissociate also takes). portev_object's declared type stays number.
 */
export interface file_obj_t { fo_name: string; fo_atime: Timespec; fo_mtime: Timespec; fo_ctime: Timespec }

/** What port_getn returns: the events taken, and their number as `nget` (C's *nget). */
export type port_event_list = port_event_t[] & { nget: number };

export function event_list(events: port_event_t[], nget: number): port_event_list {
  const l = events as port_event_list;
  l.nget = nget;
  return l;
}

/** The one object literal of events (see the file comment). */
function make(events: unknown, source: unknown, object: unknown, user: unknown): port_event_t {
  return { portev_events: events, portev_source: source, portev_object: object, portev_user: user } as port_event_t;
}

/** A port event as handed to the application. */
export function port_event(events: number, source: number, object: number, user: number): port_event_t {
  return make(events, source, object, user);
}

// Prime the fields: a non-number, then a small integer and a double, so that
// each field holds any value from here on (no later store moves the shape).
make(null, null, null, null);
make(0, 0, 0, 0);
make(0.5, 0.5, 0.5, 0.5);
