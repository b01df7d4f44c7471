#pragma once

#include <caf/atom.hpp>

namespace durable {

/// Asks an object whether it has been idle long enough to be evicted.
using idle_check_atom = caf::atom_constant<caf::atom("dur_idle")>;

/// Carries a message for an object through its namespace actor.
using route_atom = caf::atom_constant<caf::atom("dur_route")>;

/// Tells a namespace actor to quit once it answered what is queued.
using shutdown_atom = caf::atom_constant<caf::atom("dur_stop")>;

/// Triggers a namespace sweeper's periodic idle sweep.
using sweep_atom = caf::atom_constant<caf::atom("dur_sweep")>;

/// Tells an object that one of its commits completed (with an error or not).
using commit_atom = caf::atom_constant<caf::atom("dur_commit")>;

/// Delivers an object's alarm.
using alarm_atom = caf::atom_constant<caf::atom("dur_alarm")>;

} // namespace durable
