/** port_event_t as the application receives it. */
export interface port_event_t {
  portev_events: number;
  portev_source: number;
  portev_object: number;
  portev_user: number;
}

/** What port_getn returns: the events taken, and their number as `nget` (C's *nget). */
export type port_event_list = port_event_t[] & { nget: number };

export function eventList(events: port_event_t[], nget: number): port_event_list {
  const l = events as port_event_list;
  l.nget = nget;
  return l;
}
