// Fuzzes the HTTP front door without sockets: Beast's request parser set up
// as a connection sets it up (body and header limits, one flat_buffer per
// connection, read_header then read), over an in-memory stream that hands
// out the input in fuzz-chosen read sizes, then the router (parse_target,
// percent_decode, valid_binding_name, the ID parser) and the response path
// (acceptable_header, error_response, Beast's serializer). Oracles:
//  - what the server buffers unparsed stays bounded (header limit plus what
//    one read adds);
//  - the router's answers are consistent with the target (binding and ID
//    segments hold no '/' or '?', names re-encode to the same bytes, status
//    404 only without a binding);
//  - an "echo" response carrying the request's headers as object headers
//    serialises and parses back field by field as written, with exactly the
//    accepted headers (no header injection; fields of one name in their
//    order, as HTTP requires; Beast groups fields by name) and the same
//    status and body;
//  - error responses are JSON objects whose "error" is the text given.

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include "durable/errc.hpp"
#include "durable/id_factory.hpp"
#include "durable/secret.hpp"
#include "fuzz_input.hpp"
#include "routing.hpp"

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using namespace durable;
using namespace durable::http;

std::string_view view(beast::string_view x) {
  return {x.data(), x.size()};
}

const id_factory& factory() {
  static id_factory f{deployment_secret::from_bytes({7}), "fuzz-http"};
  return f;
}

bool has_any(std::string_view x, std::string_view chars) {
  return x.find_first_of(chars) != std::string_view::npos;
}

std::string percent_encode(std::string_view x) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (auto c : x) {
    auto u = static_cast<unsigned char>(c);
    out += '%';
    out += digits[u >> 4];
    out += digits[u & 15];
  }
  return out;
}

using field_list = std::vector<std::pair<std::string, std::string>>;

// Beast trims surrounding whitespace of values when parsing.
std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return v;
}

// A message's fields in the order they go on the wire, without the
// Content-Length that prepare_payload adds.
template <class Message>
field_list fields_of(const Message& msg) {
  field_list out;
  for (auto& field : msg)
    if (field.name() != bhttp::field::content_length)
      out.emplace_back(view(field.name_string()), view(field.value()));
  return out;
}

// The fields grouped by case-insensitive name, each group in its order.
field_list grouped_by_name(field_list xs) {
  std::stable_sort(xs.begin(), xs.end(), [](const auto& x, const auto& y) {
    return beast::iless{}(x.first, y.first);
  });
  return xs;
}

// An error response's body is {"error": text, ...}.
void check_error_response(const fetch_response& resp, uint16_t status,
                          std::string_view text) {
  FUZZ_CHECK(resp.status == status, "error response status");
  auto doc = nlohmann::json::parse(resp.body, nullptr, false);
  FUZZ_CHECK(doc.is_object(), "error body is not a JSON object");
  auto error = doc.find("error");
  FUZZ_CHECK(error != doc.end() && error->is_string(), "no error text");
  // Invalid UTF-8 in `text` becomes U+FFFD; otherwise it is kept.
  try {
    (void)nlohmann::json(std::string{text}).dump(); // throws if not UTF-8
    FUZZ_CHECK(error->get_ref<const std::string&>() == text,
               "error text changed");
  } catch (const nlohmann::json::type_error&) {
    // replaced
  }
}

void check_route(std::string_view target) {
  parsed_target parsed;
  unsigned status = 0;
  std::string error;
  if (!parse_target(target, parsed, status, error)) {
    FUZZ_CHECK(status == 400 || status == 404, "unexpected routing status");
    FUZZ_CHECK(!error.empty(), "routing failure without text");
    check_error_response(error_response(static_cast<uint16_t>(status), error),
                         static_cast<uint16_t>(status), error);
    return;
  }
  FUZZ_CHECK(!target.empty() && target[0] == '/', "routed a non-path");
  FUZZ_CHECK(!parsed.binding.empty() && !has_any(parsed.binding, "/?"),
             "binding segment holds a separator");
  FUZZ_CHECK(target.substr(1, parsed.binding.size()) == parsed.binding,
             "binding is not the first segment");
  if (valid_binding_name(parsed.binding))
    for (auto c : parsed.binding)
      FUZZ_CHECK(std::isalnum(static_cast<unsigned char>(c)) ||
                     has_any(std::string_view{&c, 1}, "-._~"),
                 "binding name with a forbidden character accepted");
  auto& ref = parsed.object;
  if (ref.by_id) {
    FUZZ_CHECK(!has_any(ref.key, "/?"), "ID segment holds a separator");
    auto id = factory().from_string(ref.key);
    FUZZ_CHECK(!id, "a fuzzed ID verified");
    FUZZ_CHECK(is(id.error(), errc::invalid_id) ||
                   is(id.error(), errc::wrong_namespace),
               "unexpected ID error");
    check_error_response(error_response(id.error()), 400,
                         message_of(id.error()));
  } else {
    FUZZ_CHECK(!ref.key.empty(), "empty object name routed");
    std::string again;
    FUZZ_CHECK(percent_decode(percent_encode(ref.key), again) &&
                   again == ref.key,
               "percent-decoding does not invert encoding");
  }
}

// The response path of a connection (connection::build_response) for an
// object that answers with `status`, the request's fields plus one header
// per body line ("name:value") as its headers, and the body: only acceptable
// headers go out, a client reads exactly what was written, and nothing an
// object sets can inject a header or break the framing.
void check_echo(const bhttp::request<bhttp::string_body>& req,
                uint16_t status) {
  field_list headers;
  for (auto& field : req)
    headers.emplace_back(view(field.name_string()), view(field.value()));
  std::string_view lines = req.body();
  while (!lines.empty()) {
    auto line = lines.substr(0, lines.find('\n'));
    lines.remove_prefix(std::min(lines.size(), line.size() + 1));
    auto colon = line.find(':');
    if (colon != std::string_view::npos)
      headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  bhttp::response<bhttp::string_body> res;
  res.version(11);
  res.result(status);
  field_list sent;
  for (auto& [name, value] : headers) {
    if (!acceptable_header(name, value))
      continue;
    res.insert(beast::string_view{name.data(), name.size()},
               beast::string_view{value.data(), value.size()});
    sent.emplace_back(name, value);
  }
  if (status != 204 && status != 304) {
    res.body() = req.body();
    res.prepare_payload();
  }
  // Serialise and parse back through a pair of in-memory streams.
  net::io_context ioc;
  beast::test::stream a{ioc};
  beast::test::stream b{ioc};
  a.connect(b);
  beast::error_code ec;
  bhttp::write(a, res, ec);
  FUZZ_CHECK(!ec, "response does not serialise: " + ec.message());
  a.close();
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> p;
  p.body_limit(64 * 1024 * 1024);
  p.header_limit(1024 * 1024);
  bhttp::read(b, buf, p, ec);
  FUZZ_CHECK(!ec, "response does not parse back: " + ec.message());
  auto& back = p.get();
  FUZZ_CHECK(back.result_int() == status, "status changed");
  FUZZ_CHECK(back.body() == res.body(), "body changed");
  // What the server writes is what a client reads, field by field.
  auto written = fields_of(res);
  auto got = fields_of(back);
  FUZZ_CHECK(got.size() == written.size(), "header count changed on the wire");
  for (size_t i = 0; i < got.size(); ++i) {
    FUZZ_CHECK(got[i].first == written[i].first, "header name changed");
    FUZZ_CHECK(got[i].second == trim(written[i].second),
               "header value changed");
  }
  // And it carries exactly the accepted headers. Beast's fields keep all
  // fields of one name together (insert places a field after the last one of
  // its name, compared case-insensitively), so a name that comes back later
  // in `sent` moves forward; HTTP gives meaning only to the order of fields
  // of one name (RFC 9110 5.3), and that order Beast keeps.
  FUZZ_CHECK(got.size() == sent.size(), "header count changed (injection?)");
  for (auto& field : sent)
    field.second = std::string{trim(field.second)};
  FUZZ_CHECK(grouped_by_name(got) == grouped_by_name(sent),
             "headers of one name changed or reordered");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  durable::fuzz::input in{data, size};
  auto read_size = static_cast<size_t>(in.byte()) + 1;
  auto mode = in.byte();
  // The server's defaults, or small limits that short inputs can reach.
  size_t header_limit = 16 * 1024;
  uint64_t body_limit = 1024 * 1024;
  if (mode & 1) {
    header_limit = 64 + (mode >> 1) * 16;
    body_limit = (mode >> 1) * 32;
  }
  auto status = static_cast<uint16_t>(200 + in.byte() % 400);
  auto bytes = in.rest();
  net::io_context ioc;
  beast::test::stream sock{ioc};
  sock.append(beast::string_view{bytes.data(), bytes.size()});
  sock.read_size(read_size);
  sock.close_remote();
  // What a connection may buffer unparsed: one head plus some slack for a
  // chunk-size line (16 KiB with the server's limits, as branch http bounds
  // it for issue 9 item 13; 256 bytes with the small ones). main's server
  // reads into an unbounded flat_buffer, so a long chunk extension grows it
  // without limit: DURABLE_FUZZ_HTTP_UNBOUNDED=1 reads like main does and
  // then fails on fuzz/findings/http_request/*. By default the harness bounds
  // the buffer as the fix does, so that fuzzing goes on past that finding.
  static const bool unbounded =
      std::getenv("DURABLE_FUZZ_HTTP_UNBOUNDED") != nullptr;
  auto input_limit = header_limit + ((mode & 1) ? 256 : 16 * 1024);
  beast::flat_buffer buffer{unbounded ? std::numeric_limits<size_t>::max()
                                      : input_limit};
  for (int requests = 0; requests < 32; ++requests) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(body_limit);
    parser.header_limit(static_cast<uint32_t>(header_limit));
    beast::error_code ec;
    bhttp::read_header(sock, buffer, parser, ec);
    if (!ec && !parser.is_done())
      bhttp::read(sock, buffer, parser, ec);
    FUZZ_CHECK(buffer.size() <= input_limit,
               "unparsed input grows beyond the input limit: " +
                   std::to_string(buffer.size()));
    if (ec)
      break; // the connection answers 400/413/431 or closes
    auto& msg = parser.get();
    FUZZ_CHECK(msg.body().size() <= body_limit, "body over the limit");
    check_route(view(msg.target()));
    check_echo(msg, status);
    if (!msg.keep_alive())
      break;
  }
  return 0;
}
