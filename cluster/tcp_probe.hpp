#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/timespan.hpp>

namespace durable::cluster {

/// Opens and closes a TCP connection to `host:port` within `timeout`: CAF's
/// own connect blocks its middleman for as long as the SYN takes (minutes
/// for a black-holed peer), so a dial asks this first, on its own thread.
/// `errc::unavailable` saying why when no connection was made in time.
caf::error probe_tcp(const std::string& host, uint16_t port,
                     caf::timespan timeout);

} // namespace durable::cluster
