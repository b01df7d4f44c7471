#include "admin.hpp"

#include <cstdint>
#include <string>

#include "durable/errc.hpp"
#include "durable/namespace_registry.hpp"
#include "routing.hpp"

namespace durable::http {

namespace {

/// `x` as a JSON string, for error texts that quote the request.
std::string json_quoted(std::string_view x) {
  std::string out;
  append_json_string(out, x);
  return out;
}

fetch_response json_response(uint16_t status, std::string body) {
  return make_response(status, "application/json", std::move(body));
}

fetch_response failure(uint16_t status, std::string text) {
  return json_response(status, to_json_error(make_error(errc::invalid_argument,
                                                        std::move(text))));
}

/// Parses a decimal page parameter: digits only, at most 18 of them (so it
/// fits an int64_t); range checks are the registry's.
bool parse_count(std::string_view text, int64_t& out) {
  if (text.empty() || text.size() > 18)
    return false;
  int64_t result = 0;
  for (auto c : text) {
    if (c < '0' || c > '9')
      return false;
    result = result * 10 + (c - '0');
  }
  out = result;
  return true;
}

} // namespace

bool is_admin_target(std::string_view target) {
  if (target.size() < admin_segment.size() + 1 || target.front() != '/')
    return false;
  auto rest = target.substr(1);
  if (rest.compare(0, admin_segment.size(), admin_segment) != 0)
    return false;
  rest.remove_prefix(admin_segment.size());
  return rest.empty() || rest.front() == '/' || rest.front() == '?';
}

fetch_response admin_response(const namespace_registry& registry,
                              const admin_views& views, std::string_view method,
                              std::string_view target) {
  auto query_start = target.find('?');
  auto path = target.substr(0, query_start);
  auto query = query_start == std::string_view::npos
                   ? std::string_view{}
                   : target.substr(query_start + 1);
  auto prefix = std::string{"/"} + std::string{admin_segment} + "/";
  auto view = views.end();
  if (path.size() > prefix.size() &&
      path.compare(0, prefix.size(), prefix) == 0)
    view = views.find(path.substr(prefix.size()));
  if (view == views.end() && path != "/admin/namespaces" &&
      path != "/admin/namespaces/")
    return json_response(
        404, to_json_error(make_error(errc::invalid_argument,
                                      "no admin route " + json_quoted(path) +
                                          ": use GET /admin/namespaces")));
  if (method != "GET" && method != "HEAD") {
    auto resp =
        failure(405, "method " + json_quoted(method) + " not allowed: use GET");
    resp.headers.emplace_back("allow", "GET, HEAD");
    return resp;
  }
  if (view != views.end())
    return view->second();
  int64_t page = 1;
  auto per_page = namespace_registry::default_per_page;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    auto eq = param.find('=');
    auto name = param.substr(0, eq);
    auto value = eq == std::string_view::npos ? std::string_view{}
                                              : param.substr(eq + 1);
    // Unknown parameters are ignored, as by the REST API.
    int64_t* slot = name == "page"       ? &page
                    : name == "per_page" ? &per_page
                                         : nullptr;
    if (slot != nullptr && !parse_count(value, *slot))
      return failure(400, std::string{name} +
                              " must be a positive integer, got " +
                              json_quoted(value));
  }
  auto list = registry.list(page, per_page);
  if (!list)
    return json_response(is(list.error(), errc::invalid_argument) ? 400 : 500,
                         to_json_error(list.error()));
  return json_response(200, to_json(*list));
}

} // namespace durable::http
