#include "durable/catalog.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "durable/errc.hpp"

namespace durable::cluster {

namespace {

using json = nlohmann::json;

constexpr size_t max_catalog_bytes = 1024 * 1024;
constexpr size_t max_nodes = 1000;
constexpr size_t max_name_length = 64;
constexpr size_t max_host_length = 255;
/// A catalog nests 4 levels deep at most (catalog, nodes, node,
/// jurisdictions); anything deeper is wrong, and refusing it early keeps the
/// parser's memory small.
constexpr int max_depth = 4;

caf::error invalid(std::string what) {
  return make_error(errc::invalid_argument,
                    "cluster catalog: " + std::move(what));
}

/// `x` as a JSON string for an error text, cut short: texts echo input.
std::string echo(std::string_view x) {
  constexpr size_t max_echo = 80;
  std::string cut{x.substr(0, max_echo)};
  auto result = json(cut).dump(-1, ' ', false, json::error_handler_t::replace);
  if (x.size() > max_echo)
    result += "...";
  return result;
}

/// Checks what `json::parse` cannot: duplicate keys (the library keeps the
/// last one silently) and the nesting depth. Depths as the callback sees
/// them: the catalog object starts at 0, its keys are at 1, node objects
/// start at 2 and their keys are at 3.
struct parse_guard {
  std::vector<std::unordered_set<std::string>> keys; // one per open object
  std::string top_key;   // the last key of the catalog object
  size_t node_count = 0; // node objects started so far
  std::string problem;

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    if (!problem.empty())
      return false;
    switch (event) {
    case json::parse_event_t::object_start:
    case json::parse_event_t::array_start:
      if (depth >= max_depth) {
        problem = "nested deeper than " + std::to_string(max_depth) + " levels";
        return false;
      }
      if (event == json::parse_event_t::object_start) {
        keys.emplace_back();
        if (depth == 2 && top_key == "nodes")
          ++node_count;
      }
      return true;
    case json::parse_event_t::object_end:
      keys.pop_back();
      return true;
    case json::parse_event_t::key: {
      auto& key = parsed.get_ref<const std::string&>();
      if (depth == 1)
        top_key = key;
      if (!keys.back().insert(key).second) {
        problem = "field " + echo(key) + " appears twice";
        if (depth == 3 && top_key == "nodes")
          problem += " in nodes[" + std::to_string(node_count - 1) + "]";
        return false;
      }
      return true;
    }
    default:
      return true;
    }
  }
};

/// Returns what is wrong with `x` as a name, or "".
std::string check_name(const json& x) {
  if (!x.is_string())
    return "must be a string, got " + x.dump();
  auto& str = x.get_ref<const std::string&>();
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  };
  if (str.empty() || str.size() > max_name_length ||
      !std::all_of(str.begin(), str.end(), allowed))
    return "must be 1 to 64 of A-Z a-z 0-9 . _ -, got " + echo(str);
  return {};
}

/// Parses `host:port` into `out`; returns what is wrong, or "".
std::string parse_endpoint(const json& x, endpoint& out) {
  if (!x.is_string())
    return "must be a string \"host:port\", got " + x.dump();
  auto& str = x.get_ref<const std::string&>();
  auto colon = str.rfind(':'); // the last one: "[::1]:7101" works
  if (colon == std::string::npos)
    return "must be \"host:port\", got " + echo(str);
  auto host = str.substr(0, colon);
  auto port = str.substr(colon + 1);
  auto space = [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '\x7f';
  };
  if (host.empty() || host.size() > max_host_length ||
      std::any_of(host.begin(), host.end(), space))
    return "host must be 1 to 255 characters without spaces, got " + echo(str);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  // 5 digits at most, so the sum cannot overflow.
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), digit))
    return "port must be a number from 1 to 65535, got " + echo(str);
  uint32_t value = 0;
  for (auto c : port)
    value = value * 10 + static_cast<uint32_t>(c - '0');
  if (value < 1 || value > 65535)
    return "port must be a number from 1 to 65535, got " + echo(str);
  out.host = std::move(host);
  out.port = static_cast<uint16_t>(value);
  return {};
}

std::string parse_number(const json& x, uint16_t& out) {
  auto fail =
      "must be an integer from 1 to 65535 (0 is reserved), got " + x.dump();
  if (!x.is_number_integer())
    return fail;
  if (x.is_number_unsigned() ? x.get<uint64_t>() > 65535
                             : x.get<int64_t>() < 1 || x.get<int64_t>() > 65535)
    return fail;
  out = static_cast<uint16_t>(x.get<int64_t>());
  return out == 0 ? fail : std::string{};
}

std::string parse_jurisdictions(const json& x, std::vector<jurisdiction>& out) {
  if (!x.is_array())
    return "must be an array of jurisdiction names, got " + x.dump();
  out.clear();
  for (auto& name : x) {
    if (!name.is_string())
      return "must be an array of jurisdiction names, got " + name.dump();
    auto j = parse_jurisdiction(name.get_ref<const std::string&>());
    if (!j)
      return message_of(j.error());
    if (std::find(out.begin(), out.end(), *j) != out.end())
      return "lists " + echo(to_string(*j)) + " twice";
    out.push_back(*j);
  }
  return {};
}

caf::error parse_node(const json& x, size_t index, node_entry& out) {
  auto where = "nodes[" + std::to_string(index) + "]";
  if (!x.is_object())
    return invalid(where + ": must be an object, got " + x.dump());
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
    return fail("region", "must be a location hint name, got " + region.dump());
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
  parse_guard guard;
  json doc;
  try {
    doc = json::parse(
        text.begin(), text.end(),
        [&guard](int depth, json::parse_event_t event, json& parsed) {
          return guard(depth, event, parsed);
        });
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (what.size() > 200)
      what = what.substr(0, 200) + "...";
    return invalid("not JSON at byte " + std::to_string(e.byte) + ": " + what);
  } catch (const json::exception& e) {
    return invalid(std::string{"not a valid catalog: "} + e.what());
  }
  if (!guard.problem.empty())
    return invalid(guard.problem);
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
