// durable-admin: inspect a caf-durable data directory, apply migrations,
// back it up and restore it. Options are CAF config options
// (`caf::config_option_set`, parsed into `caf::settings`): typed values,
// range checks and the option lists of `--help` come from CAF.

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include <caf/config_option_adder.hpp>
#include <caf/config_option_set.hpp>
#include <caf/pec.hpp>
#include <caf/settings.hpp>

#include "cli.hpp"

namespace {

using namespace admin;

constexpr const char* usage_head =
    R"(usage: durable-admin [options] <command> [arguments]

commands:
)";

constexpr const char* usage_tail = R"(
Options take their value as --name=value or --name value; `--` ends the
options. `durable-admin <command> --help` lists a command's own options.
Reading works while a server has the data directory open; migrate does not.
With --etcd-endpoints and --cluster, migrate and namespaces list work on the
cluster's shared registry in etcd (mirrored into --data-dir, or into a
temporary directory without it).
backup works beside a running server; restore writes only into a new or
empty directory.
Exit codes: 0 ok, 1 usage, 2 not found or invalid, 3 storage failure,
4 the data directory is held by a running server.
)";

std::string str(caf::string_view x) {
  return std::string{x.data(), x.size()};
}

// Options every command takes.
void global_options(caf::config_option_set& set) {
  caf::config_option_adder{set, "global"}
      .add<std::string>("data-dir", "data directory (default: durable-data)")
      .add<std::string>("secret-file",
                        "deployment secret (default: <data-dir>/secret; "
                        "the environment variable DURABLE_SECRET takes "
                        "precedence)")
      .add<bool>("json", "machine-readable output")
      .add<std::string>("etcd-endpoints",
                        "migrate and namespaces list: the cluster's etcd, "
                        "host:port[,host:port...] (the shared registry)")
      .add<std::string>("cluster", "the cluster's name in etcd (its "
                                   "catalog's name)")
      .add<bool>("help,h?", "this text");
}

struct command {
  std::vector<std::string> words;
  std::vector<std::string> params;
  const char* summary;
  void (*options)(caf::config_option_set&); // beyond the global ones
  int (*run)(const admin::options&);

  std::string name() const {
    std::string result;
    for (auto& w : words)
      result += (result.empty() ? "" : " ") + w;
    return result;
  }

  caf::config_option_set option_set() const {
    caf::config_option_set set;
    global_options(set);
    if (options != nullptr)
      options(set);
    return set;
  }
};

void no_options(caf::config_option_set&) {
  // nop
}

const std::vector<command>& commands() {
  static const std::vector<command> xs{
      {{"namespaces", "list"},
       {},
       "recorded namespaces (20 per page, at most 100)",
       [](caf::config_option_set& set) {
         caf::config_option_adder{set, "global"}
             .add<int64_t>("page", "page to show (default: 1)")
             .add<int64_t>("per-page", "namespaces per page (1..100)");
       },
       namespaces_list},
      {{"migrate"},
       {"<file.json>"},
       "apply migrations (needs the data directory to itself)",
       no_options,
       migrate},
      {{"id", "from-name"},
       {"<namespace>", "<name>"},
       "the ID of a named object",
       [](caf::config_option_set& set) {
         caf::config_option_adder{set, "global"}.add<std::string>(
             "jurisdiction", "eu, fedramp, fedramp-high or us");
       },
       id_from_name},
      {{"id", "check"},
       {"<namespace>", "<64-hex-id>"},
       "checks that an ID belongs to a namespace",
       no_options,
       id_check},
      {{"object", "show"},
       {"<namespace>", "<name|id>"},
       "keys, sizes, values and alarm of one object",
       [](caf::config_option_set& set) {
         caf::config_option_adder{set, "global"}
             .add<bool>("name", "the argument is a name even if it looks "
                                "like an ID")
             .add<std::string>("jurisdiction", "of a named object")
             .add<int64_t>("limit", "keys listed (1..1000000, default 100)")
             .add<int64_t>("max-value", "value bytes shown (0..131072, "
                                        "default 64)");
       },
       object_show},
      {{"stats"},
       {},
       "objects and bytes per namespace and jurisdiction",
       no_options,
       stats},
      {{"secret", "adopt"},
       {},
       "accept the current deployment secret for this data directory (after "
       "the old one was lost: named objects get new IDs)",
       no_options,
       secret_adopt},
      {{"backup"},
       {"<dir>"},
       "a consistent, compacted copy of the data directory, also while a "
       "server runs; <dir> must be new or empty",
       [](caf::config_option_set& set) {
         caf::config_option_adder{set, "global"}.add<bool>(
             "include-secret", "copy the deployment secret file too (a "
                               "credential: keep such a backup private)");
       },
       backup},
      {{"restore"},
       {"<backup>", "<data-dir>"},
       "checks a backup and restores it into a new or empty data directory",
       no_options,
       restore},
  };
  return xs;
}

std::string usage_text() {
  std::string text = usage_head;
  for (auto& cmd : commands()) {
    auto line = "  " + cmd.name();
    for (auto& p : cmd.params)
      line += ' ' + p;
    caf::config_option_set own;
    cmd.options(own);
    for (auto& opt : own)
      line += " [--" + str(opt.long_name()) +
              (opt.is_flag() ? "]" : "=<" + str(opt.type_name()) + ">]");
    text += line + "\n      " + cmd.summary + "\n";
  }
  caf::config_option_set set;
  global_options(set);
  return text + '\n' + set.help_text() + usage_tail;
}

int usage_error(const std::string& text) {
  std::fprintf(stderr,
               "durable-admin: %s\n(`durable-admin --help` lists the commands "
               "and options)\n",
               text.c_str());
  return exit_usage;
}

// All options of all commands: tells which words are options and whether
// they take a value before the command is known.
const caf::config_option_set& every_option() {
  static const auto set = [] {
    caf::config_option_set result;
    global_options(result);
    for (auto& cmd : commands())
      if (cmd.options != nullptr)
        cmd.options(result);
    return result;
  }();
  return set;
}

const caf::config_option* lookup(const caf::config_option_set& set,
                                 const std::string& arg) {
  if (arg.compare(0, 2, "--") == 0)
    return set.cli_long_name_lookup(arg.substr(2, arg.find('=') - 2));
  return arg.size() >= 2 ? set.cli_short_name_lookup(arg[1]) : nullptr;
}

/// The command line split into option words (each `--name=value` or a
/// flag, as CAF's parser wants them) and positional words.
struct split_args {
  std::vector<std::string> options;
  std::vector<std::string> positional;
};

// CAF's parser wants `--name=value`; `--name value` (the tool's documented
// spelling) is joined here for options that take a value.
int split(int argc, char** argv, split_args& out) {
  std::set<std::string> given;
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      out.positional.push_back(std::move(arg));
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    auto* opt = lookup(every_option(), arg);
    if (opt == nullptr)
      return usage_error("unknown option " + arg.substr(0, arg.find('=')));
    auto name = "--" + str(opt->long_name());
    if (!given.insert(name).second)
      return usage_error("option " + name + " given twice");
    bool has_value = arg.find('=') != std::string::npos ||
                     (arg.compare(0, 2, "--") != 0 && arg.size() > 2);
    if (!opt->is_flag() && !has_value) {
      if (i + 1 >= argc)
        return usage_error("option " + name + " needs a value");
      arg = name + '=' + argv[++i];
    }
    out.options.push_back(std::move(arg));
  }
  return exit_ok;
}

// Explains a failure of CAF's parser on `arg`.
int parse_error(const command& cmd, const caf::config_option_set& set,
                caf::pec code, const std::string& arg) {
  auto name = arg.substr(0, arg.find('='));
  auto* opt = lookup(set, arg);
  if (opt == nullptr)
    return usage_error("option " + name + " does not apply to '" + cmd.name() +
                       "'");
  name = "--" + str(opt->long_name());
  auto value = arg.find('=') == std::string::npos
                   ? std::string{}
                   : arg.substr(arg.find('=') + 1);
  switch (code) {
  case caf::pec::illegal_argument:
    if (opt->is_flag())
      return usage_error("option " + name + " takes no value");
    break;
  case caf::pec::missing_argument:
    return usage_error("option " + name + " needs a value");
  case caf::pec::integer_overflow:
  case caf::pec::integer_underflow:
    return usage_error("option " + name + ": " + value +
                       " is out of range for a 64-bit integer");
  default:
    break;
  }
  return usage_error("option " + name + " needs a value of type " +
                     str(opt->type_name()) + ", got '" + value + "' (" +
                     caf::to_string(code) + ")");
}

const command* find_command(const std::vector<std::string>& words) {
  for (auto& cmd : commands())
    if (words.size() >= cmd.words.size() &&
        std::equal(cmd.words.begin(), cmd.words.end(), words.begin()))
      return &cmd;
  return nullptr;
}

// Turns the settings CAF parsed into the options the commands read.
int to_options(const caf::settings& cfg, admin::options& opts) {
  auto path = [&](caf::string_view key, std::string& out) {
    auto x = caf::get_if<std::string>(&cfg, key);
    if (!x)
      return true;
    out = *x;
    return !x->empty();
  };
  if (!path("data-dir", opts.data_dir))
    return usage_error("option --data-dir needs a non-empty value");
  if (!path("secret-file", opts.secret_file))
    return usage_error("option --secret-file needs a non-empty value");
  opts.data_dir_given = caf::get_if(&cfg, "data-dir") != nullptr;
  opts.json = caf::get_or(cfg, "json", false);
  opts.by_name = caf::get_or(cfg, "name", false);
  opts.include_secret = caf::get_or(cfg, "include-secret", false);
  if (auto x = caf::get_if<std::string>(&cfg, "etcd-endpoints")) {
    std::string rest = *x;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      opts.etcd_endpoints.push_back(rest.substr(0, comma));
      rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    }
    auto empty = std::find(opts.etcd_endpoints.begin(),
                           opts.etcd_endpoints.end(), std::string{});
    if (opts.etcd_endpoints.empty() || empty != opts.etcd_endpoints.end())
      return usage_error("option --etcd-endpoints needs host:port[,...]");
  }
  if (!path("cluster", opts.cluster))
    return usage_error("option --cluster needs a non-empty value");
  if (opts.etcd_endpoints.empty() != opts.cluster.empty())
    return usage_error("options --etcd-endpoints and --cluster go together");
  if (auto x = caf::get_if<std::string>(&cfg, "jurisdiction"))
    opts.jurisdiction = *x;
  auto number = [&](caf::string_view key, std::optional<int64_t>& out) {
    if (auto x = caf::get_if<int64_t>(&cfg, key))
      out = *x;
  };
  number("page", opts.page);
  number("per-page", opts.per_page);
  number("limit", opts.limit);
  number("max-value", opts.max_value);
  return exit_ok;
}

} // namespace

int main(int argc, char** argv) {
  split_args args;
  if (auto rc = split(argc, argv, args); rc != exit_ok)
    return rc;
  auto* cmd = find_command(args.positional);
  auto help = std::find_if(args.options.begin(), args.options.end(),
                           [](const std::string& x) {
                             return x == "--help" || x == "-h" || x == "-?";
                           }) != args.options.end();
  if (help) {
    if (cmd == nullptr) {
      std::fputs(usage_text().c_str(), stdout);
    } else {
      std::string params;
      for (auto& p : cmd->params)
        params += ' ' + p;
      std::printf("usage: durable-admin [options] %s%s\n  %s\n\n%s",
                  cmd->name().c_str(), params.c_str(), cmd->summary,
                  cmd->option_set().help_text().c_str());
    }
    return exit_ok;
  }
  if (args.positional.empty())
    return usage_error("no command");
  if (cmd == nullptr)
    return usage_error("unknown command '" + args.positional[0] + "'");
  auto n = cmd->words.size();
  if (args.positional.size() != n + cmd->params.size())
    return usage_error("'" + cmd->name() + "' takes " +
                       std::to_string(cmd->params.size()) + " argument(s)");
  auto set = cmd->option_set();
  caf::settings cfg;
  auto [code, pos] = set.parse(cfg, args.options);
  if (code != caf::pec::success)
    return parse_error(*cmd, set, code,
                       pos == args.options.end() ? std::string{} : *pos);
  admin::options opts;
  if (auto rc = to_options(cfg, opts); rc != exit_ok)
    return rc;
  opts.args.assign(args.positional.begin() + static_cast<ptrdiff_t>(n),
                   args.positional.end());
  try {
    return cmd->run(opts);
  } catch (const std::exception& e) {
    return fail(std::string{"unexpected failure: "} + e.what(), exit_storage);
  }
}
