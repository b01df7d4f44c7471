#include "durable/fetch.hpp"

#include <strings.h>

namespace durable {

const std::string* find_header(const header_list& xs, std::string_view name) {
  for (auto& [key, value] : xs)
    if (key.size() == name.size() &&
        strncasecmp(key.data(), name.data(), name.size()) == 0)
      return &value;
  return nullptr;
}

fetch_response make_response(uint16_t status, std::string content_type,
                             std::string body) {
  fetch_response result;
  result.status = status;
  result.headers.emplace_back("content-type", std::move(content_type));
  result.body = std::move(body);
  return result;
}

fetch_response make_text_response(uint16_t status, std::string body) {
  return make_response(status, "text/plain; charset=utf-8", std::move(body));
}

} // namespace durable
