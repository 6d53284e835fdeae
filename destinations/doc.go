// Package destinations answers "where is this flow going": it turns the names
// and addresses the app parsers and the DNS answer cache provide into a
// destination category (ai_ml, cloud_storage, saas, analytics, social,
// advertising, cdn, internal, threat, unknown), a vendor and a service, using
// an embedded catalog of real vendor host names (extensible by user files),
// provider IP ranges, the configured home networks and service map, and IOC
// lists. It also owns the shared DNS answer cache and the first-seen tracker.
//
// It must not scan payload content and must not parse packets: it receives
// names (SNI, QUIC, HTTP Host, CONNECT, DNS) and addresses from its callers.
// Classification never uses substring or prefix matching: names are
// normalised (lowercase, no trailing dot, IDNA to punycode; invalid names are
// "unknown", never guessed) and matched whole label by whole label from the
// right. The registrable domain (public suffix + 1) is computed only for
// grouping and first-seen, never to classify.
//
// Built tables (Catalog, RangeTable, IOCSet, Classifier) are immutable and
// safe for concurrent use; reloads build new ones and swap a pointer.
package destinations
