#pragma once

// The admin routes of the front door (`/admin/...`): read-only views of the
// namespace registry, answered on the I/O thread (one LMDB read, no actor).

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "durable/fetch.hpp"

namespace durable {
class namespace_registry;
} // namespace durable

namespace durable::http {

/// The path segment the admin routes live under.
inline constexpr std::string_view admin_segment = "admin";

/// Returns whether `target` ("/admin", "/admin/...", query allowed) is for
/// the admin routes.
bool is_admin_target(std::string_view target);

/// Extra read-only views under `/admin/<name>` (e.g. the cluster's links),
/// answered on the I/O thread: they must be quick and must not block.
using admin_views =
    std::map<std::string, std::function<fetch_response()>, std::less<>>;

/// Answers an admin request:
/// `GET /admin/namespaces[?page=P&per_page=N]` lists the namespaces in the
/// REST API's envelope (`result`, `result_info`, `success`, `errors`,
/// `messages`); bad parameters get 400 with `success: false`.
/// `GET /admin/<name>` answers the view `name` of `views`. Other paths get
/// 404, other methods than GET and HEAD 405.
fetch_response admin_response(const namespace_registry& registry,
                              const admin_views& views, std::string_view method,
                              std::string_view target);

} // namespace durable::http
