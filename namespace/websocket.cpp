#include "durable/websocket.hpp"

#include <strings.h>

#include "durable/websocket_directory.hpp"

namespace durable {

fetch_response accept_websocket(websocket_accept opts) {
  // 101 plus a header no client can forge through an object's fetch (the
  // front door strips it): the token tells the front door whether the
  // accepting object runs in its own process.
  fetch_response resp;
  resp.status = 101;
  resp.headers.emplace_back(
      websocket_accept_header,
      std::to_string(websocket_directory::instance().token()));
  for (auto& tag : opts.tags)
    resp.headers.emplace_back("x-durable-websocket-tag", std::move(tag));
  if (!opts.auto_request.empty()) {
    resp.headers.emplace_back("x-durable-websocket-auto-request",
                              std::move(opts.auto_request));
    resp.headers.emplace_back("x-durable-websocket-auto-response",
                              std::move(opts.auto_response));
  }
  resp.body = std::move(opts.attachment);
  return resp;
}

fetch_response accept_websocket(std::vector<std::string> tags,
                                std::string attachment) {
  websocket_accept opts;
  opts.tags = std::move(tags);
  opts.attachment = std::move(attachment);
  return accept_websocket(std::move(opts));
}

bool is_websocket_upgrade(const fetch_request& req) {
  auto upgrade = req.header("upgrade");
  return upgrade != nullptr && strcasecmp(upgrade->c_str(), "websocket") == 0;
}

} // namespace durable
