// durable-admin: inspect a caf-durable data directory and apply migrations.

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cli.hpp"

namespace {

using namespace admin;

constexpr const char* usage_text = R"(usage: durable-admin [options] <command>

commands:
  namespaces list [--page N] [--per-page M]   recorded namespaces (20 per page,
                                              at most 100)
  migrate <file.json>                         apply migrations (needs the data
                                              directory to itself)
  id from-name <namespace> <name> [--jurisdiction J]
  id check <namespace> <64-hex-id>
  object show <namespace> <name|id> [--name] [--jurisdiction J]
              [--limit N] [--max-value BYTES] keys, sizes, values and alarm
  stats                                       objects and bytes per namespace
                                              and jurisdiction
  secret adopt                                accept the current deployment
                                              secret for this data directory
                                              (after the old one was lost:
                                              named objects get new IDs)

options:
  --data-dir D      data directory (default: durable-data)
  --secret-file F   deployment secret (default: <data-dir>/secret; the
                    environment variable DURABLE_SECRET takes precedence)
  --json            machine-readable output
  --help            this text

Reading works while a server has the data directory open; migrate does not.
Exit codes: 0 ok, 1 usage, 2 not found or invalid, 3 storage failure,
4 the data directory is held by a running server.
)";

struct command {
  std::vector<std::string> words;
  size_t arity;
  std::set<std::string> options; // beyond the global ones
  int (*run)(const admin::options&);
};

const std::vector<command>& commands() {
  static const std::vector<command> xs{
      {{"namespaces", "list"}, 0, {"--page", "--per-page"}, namespaces_list},
      {{"migrate"}, 1, {}, migrate},
      {{"id", "from-name"}, 2, {"--jurisdiction"}, id_from_name},
      {{"id", "check"}, 2, {}, id_check},
      {{"object", "show"},
       2,
       {"--jurisdiction", "--limit", "--max-value", "--name"},
       object_show},
      {{"stats"}, 0, {}, stats},
      {{"secret", "adopt"}, 0, {}, secret_adopt},
  };
  return xs;
}

int usage_error(const std::string& text) {
  std::fprintf(stderr, "durable-admin: %s\n%s", text.c_str(), usage_text);
  return exit_usage;
}

bool parse_int(const std::string& x, int64_t& out) {
  if (x.empty())
    return false;
  errno = 0;
  char* end = nullptr;
  auto value = std::strtoll(x.c_str(), &end, 10);
  if (errno != 0 || end != x.c_str() + x.size())
    return false;
  out = value;
  return true;
}

} // namespace

int main(int argc, char** argv) {
  admin::options opts;
  std::vector<std::string> positional;
  std::set<std::string> given;
  static const std::set<std::string> flags{"--json", "--name", "--help"};
  static const std::set<std::string> valued{
      "--data-dir", "--secret-file", "--page",        "--per-page",
      "--limit",    "--max-value",   "--jurisdiction"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0 || arg == "--") {
      positional.push_back(arg);
      continue;
    }
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    if (flags.count(arg) > 0) {
      if (has_value)
        return usage_error("option " + arg + " takes no value");
    } else if (valued.count(arg) > 0) {
      if (!has_value) {
        if (i + 1 >= argc)
          return usage_error("option " + arg + " needs a value");
        value = argv[++i];
      }
    } else {
      return usage_error("unknown option " + arg);
    }
    if (!given.insert(arg).second)
      return usage_error("option " + arg + " given twice");
    if (arg == "--help") {
      std::fputs(usage_text, stdout);
      return exit_ok;
    }
    if (arg == "--json") {
      opts.json = true;
    } else if (arg == "--name") {
      opts.by_name = true;
    } else if (arg == "--data-dir" || arg == "--secret-file") {
      if (value.empty())
        return usage_error("option " + arg + " needs a non-empty value");
      (arg == "--data-dir" ? opts.data_dir : opts.secret_file) = value;
    } else if (arg == "--jurisdiction") {
      opts.jurisdiction = value;
    } else {
      int64_t n = 0;
      if (!parse_int(value, n))
        return usage_error("option " + arg + " needs an integer, got '" +
                           value + "'");
      (arg == "--page"       ? opts.page
       : arg == "--per-page" ? opts.per_page
       : arg == "--limit"    ? opts.limit
                             : opts.max_value) = n;
    }
  }
  if (positional.empty())
    return usage_error("no command");
  for (auto& cmd : commands()) {
    auto n = cmd.words.size();
    if (positional.size() < n ||
        !std::equal(cmd.words.begin(), cmd.words.end(), positional.begin()))
      continue;
    std::string name;
    for (auto& w : cmd.words)
      name += (name.empty() ? "" : " ") + w;
    if (positional.size() != n + cmd.arity)
      return usage_error("'" + name + "' takes " + std::to_string(cmd.arity) +
                         " argument(s)");
    for (auto& opt : given)
      if (opt != "--json" && opt != "--data-dir" && opt != "--secret-file" &&
          cmd.options.count(opt) == 0)
        return usage_error("option " + opt + " does not apply to '" + name +
                           "'");
    opts.args.assign(positional.begin() + static_cast<ptrdiff_t>(n),
                     positional.end());
    try {
      return cmd.run(opts);
    } catch (const std::exception& e) {
      return fail(std::string{"unexpected failure: "} + e.what(), exit_storage);
    }
  }
  return usage_error("unknown command '" + positional[0] + "'");
}
