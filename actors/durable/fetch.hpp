#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>

namespace durable {

/// Header fields in the order they were given; names compare
/// case-insensitively.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Returns the value of the first header named `name` (any case), or null.
const std::string* find_header(const header_list& xs, std::string_view name);

/// An HTTP-style request delivered to an object's `fetch` handler.
struct fetch_request {
  std::string method = "GET";
  /// Path and query as received, e.g. "/counter/alice/inc?by=2".
  std::string url;
  header_list headers;
  std::string body;

  const std::string* header(std::string_view name) const {
    return find_header(headers, name);
  }
};

/// The reply of an object's `fetch` handler.
struct fetch_response {
  uint16_t status = 200;
  /// Sent over HTTP with the fields of one name together, each name's
  /// fields in their order (Beast's fields group them; HTTP gives meaning
  /// only to the order within one name).
  header_list headers;
  std::string body;

  const std::string* header(std::string_view name) const {
    return find_header(headers, name);
  }
};

/// Makes a response with `status`, a `content-type` header and `body`.
fetch_response make_response(uint16_t status, std::string content_type,
                             std::string body);

/// Makes a response with `status` and a plain-text `body`.
fetch_response make_text_response(uint16_t status, std::string body);

/// The message signature an object adds to its interface to handle `fetch`:
/// `caf::typed_actor<..., durable::fetch_signature>`.
using fetch_signature = caf::replies_to<fetch_request>::with<fetch_response>;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_request& x) {
  return f(caf::meta::type_name("durable::fetch_request"), x.method, x.url,
           x.headers, x.body);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_response& x) {
  return f(caf::meta::type_name("durable::fetch_response"), x.status, x.headers,
           x.body);
}

} // namespace durable
