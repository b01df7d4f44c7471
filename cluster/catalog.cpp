#include "durable/catalog.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "catalog_json.hpp"
#include "durable/errc.hpp"

namespace durable::cluster {

namespace {

using namespace detail;

constexpr size_t max_nodes = 1000;

caf::error invalid(std::string what) {
  return make_error(errc::invalid_argument,
                    "cluster catalog: " + std::move(what));
}

caf::error parse_node(const json& x, size_t index, node_entry& out) {
  auto where = "nodes[" + std::to_string(index) + "]";
  if (!x.is_object())
    return invalid(where + ": must be an object, got " + echo_json(x));
  auto fail = [&](const char* field, const std::string& problem) {
    return invalid(where + ": field \"" + field + "\": " + problem);
  };
  // The name first, so that every later error names the node.
  auto name = x.find("name");
  if (name == x.end())
    return fail("name", "missing");
  if (auto problem = check_name(*name); !problem.empty())
    return fail("name", problem);
  out.name = name->get<std::string>();
  where += " (" + echo(out.name) + ")";
  static constexpr const char* known[] = {"name",   "http",   "basp",
                                          "number", "region", "jurisdictions"};
  for (auto& item : x.items())
    if (std::none_of(std::begin(known), std::end(known),
                     [&](const char* k) { return item.key() == k; }))
      return invalid(where + ": unknown field " + echo(item.key()) +
                     " (known: name, number, basp, http, region,"
                     " jurisdictions)");
  for (auto field : {"number", "basp", "http", "region"})
    if (!x.contains(field))
      return fail(field, "missing");
  if (auto problem = parse_number(x["number"], out.number); !problem.empty())
    return fail("number", problem);
  if (auto problem = parse_endpoint(x["basp"], out.basp); !problem.empty())
    return fail("basp", problem);
  if (auto problem = parse_endpoint(x["http"], out.http); !problem.empty())
    return fail("http", problem);
  auto& region = x["region"];
  if (!region.is_string() || region.get_ref<const std::string&>().empty())
    return fail("region",
                "must be a location hint name, got " + echo_json(region));
  auto hint = parse_location_hint(region.get_ref<const std::string&>());
  if (!hint)
    return fail("region", message_of(hint.error()));
  out.region = *hint;
  out.jurisdictions.assign(restricted_jurisdictions.begin(),
                           restricted_jurisdictions.end());
  if (auto js = x.find("jurisdictions"); js != x.end())
    if (auto problem = parse_jurisdictions(*js, out.jurisdictions);
        !problem.empty())
      return fail("jurisdictions", problem);
  return caf::none;
}

std::string describe(const std::vector<node_entry>& nodes, size_t index) {
  return "nodes[" + std::to_string(index) + "] (" + echo(nodes[index].name) +
         ")";
}

/// Refuses a second node with the same name, number or address.
caf::error check_unique(const std::vector<node_entry>& nodes) {
  std::unordered_map<std::string, size_t> names;
  std::unordered_map<uint16_t, size_t> numbers;
  // address -> (node index, field)
  std::unordered_map<std::string, std::pair<size_t, const char*>> addresses;
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto& node = nodes[i];
    auto used = [&](const char* field, const std::string& what, size_t other,
                    const char* other_field) {
      return invalid(describe(nodes, i) + ": field \"" + field + "\": " + what +
                     " is already used by " + describe(nodes, other) +
                     " field \"" + other_field + "\"");
    };
    if (auto [it, ok] = names.emplace(node.name, i); !ok)
      return used("name", echo(node.name), it->second, "name");
    if (auto [it, ok] = numbers.emplace(node.number, i); !ok)
      return used("number", std::to_string(node.number), it->second, "number");
    for (auto [field, ep] :
         {std::pair{"basp", &node.basp}, std::pair{"http", &node.http}}) {
      auto address = ep->to_string();
      if (auto [it, ok] = addresses.emplace(address, std::pair{i, field}); !ok)
        return used(field, "address " + echo(address), it->second.first,
                    it->second.second);
    }
  }
  return caf::none;
}

} // namespace

std::string endpoint::to_string() const {
  return host + ':' + std::to_string(port);
}

bool node_entry::may_hold(jurisdiction j) const noexcept {
  return j == jurisdiction::none ||
         std::find(jurisdictions.begin(), jurisdictions.end(), j) !=
             jurisdictions.end();
}

node_description node_entry::description() const {
  return node_description{region, jurisdictions};
}

caf::expected<catalog> catalog::parse(std::string_view text) {
  if (text.size() > max_catalog_bytes)
    return invalid("the text has " + std::to_string(text.size()) +
                   " bytes, more than the limit of 1 MiB");
  auto parsed = durable::detail::parse_strict_json(text, max_catalog_depth);
  if (!parsed)
    return invalid(message_of(parsed.error()));
  auto& doc = *parsed;
  if (!doc.is_object())
    return invalid("must be a JSON object with \"cluster\" and \"nodes\"");
  for (auto& item : doc.items())
    if (item.key() != "cluster" && item.key() != "nodes")
      return invalid("unknown field " + echo(item.key()) +
                     " (known: cluster, nodes)");
  if (!doc.contains("cluster"))
    return invalid("field \"cluster\": missing");
  if (auto problem = check_name(doc["cluster"]); !problem.empty())
    return invalid("field \"cluster\": " + problem);
  if (!doc.contains("nodes"))
    return invalid("field \"nodes\": missing");
  auto& nodes = doc["nodes"];
  if (!nodes.is_array() || nodes.empty() || nodes.size() > max_nodes)
    return invalid("field \"nodes\": must be an array of 1 to " +
                   std::to_string(max_nodes) + " nodes");
  catalog result;
  result.name_ = doc["cluster"].get<std::string>();
  result.nodes_.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    if (auto err = parse_node(nodes[i], i, result.nodes_[i]))
      return err;
  if (auto err = check_unique(result.nodes_))
    return err;
  return result;
}

caf::expected<catalog> catalog::load(const std::string& path) {
  auto fail = [&](const std::string& why) {
    return invalid("cannot read '" + path + "': " + why);
  };
  std::unique_ptr<FILE, int (*)(FILE*)> file{fopen(path.c_str(), "rb"), fclose};
  if (!file)
    return fail(strerror(errno));
  // One byte more than the limit tells a file at the limit from a larger one.
  std::string text(max_catalog_bytes + 1, '\0');
  auto n = fread(text.data(), 1, text.size(), file.get());
  if (ferror(file.get()))
    return fail(strerror(errno));
  if (n > max_catalog_bytes)
    return fail("larger than the limit of 1 MiB");
  text.resize(n);
  return parse(text);
}

const node_entry* catalog::find(uint16_t number) const noexcept {
  for (auto& node : nodes_)
    if (node.number == number)
      return &node;
  return nullptr;
}

const node_entry* catalog::find(std::string_view name) const noexcept {
  for (auto& node : nodes_)
    if (node.name == name)
      return &node;
  return nullptr;
}

} // namespace durable::cluster
