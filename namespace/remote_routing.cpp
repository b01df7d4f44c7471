#include "durable/remote_routing.hpp"

namespace durable {

remote_routing::~remote_routing() {
  // nop
}

} // namespace durable
