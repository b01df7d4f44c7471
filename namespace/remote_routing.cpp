#include "durable/remote_routing.hpp"

#include <caf/mailbox_element.hpp>

namespace durable {

remote_routing::~remote_routing() {
  // nop
}

void answer(const caf::strong_actor_ptr& to, caf::message_id mid,
            caf::message msg, caf::execution_unit* ctx) {
  if (to && mid.is_request())
    to->enqueue(caf::make_mailbox_element(nullptr, mid.response_id(), {},
                                          std::move(msg)),
                ctx);
}

} // namespace durable
