#pragma once

#include <caf/atom.hpp>

namespace durable {

/// Asks an object whether it has been idle long enough to be evicted.
using idle_check_atom = caf::atom_constant<caf::atom("dur_idle")>;

/// Carries a message for an object through its namespace actor.
using route_atom = caf::atom_constant<caf::atom("dur_route")>;

/// Tells a namespace actor that one of its objects has terminated.
using evicted_atom = caf::atom_constant<caf::atom("dur_evict")>;

/// Triggers a namespace actor's periodic idle sweep.
using sweep_atom = caf::atom_constant<caf::atom("dur_sweep")>;

/// Tells an object that one of its commits completed (with an error or not).
using commit_atom = caf::atom_constant<caf::atom("dur_commit")>;

/// Delivers an object's alarm.
using alarm_atom = caf::atom_constant<caf::atom("dur_alarm")>;

} // namespace durable
