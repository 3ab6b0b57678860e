#include "netdemo/http/cookies.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>

#include <boost/asio/ip/address.hpp>

namespace netdemo::http {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_ip_address(std::string_view host) {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

/// RFC 6265 5.1.3: host equals domain, or ends with ".domain" and is a name.
bool domain_match(std::string_view host, std::string_view domain) {
  if (host == domain) return true;
  if (host.size() <= domain.size() + 1) return false;
  return host.substr(host.size() - domain.size()) == domain &&
         host[host.size() - domain.size() - 1] == '.' && !is_ip_address(host);
}

/// RFC 6265 5.1.4: the directory of the request path.
std::string default_path(std::string_view request_path) {
  if (request_path.empty() || request_path.front() != '/') return "/";
  auto const slash = request_path.rfind('/');
  if (slash == 0) return "/";
  return std::string(request_path.substr(0, slash));
}

bool path_match(std::string_view request_path, std::string_view cookie_path) {
  if (request_path == cookie_path) return true;
  if (request_path.size() > cookie_path.size() && request_path.substr(0, cookie_path.size()) == cookie_path) {
    return cookie_path.back() == '/' || request_path[cookie_path.size()] == '/';
  }
  return false;
}

bool expired(const cookie& c, std::int64_t now) { return c.expires != 0 && c.expires <= now; }

std::string_view path_only(std::string_view target) {
  auto const q = target.find('?');
  if (q != std::string_view::npos) target = target.substr(0, q);
  return target.empty() ? std::string_view("/") : target;
}

/// RFC 6265bis 5.6: a cookie line with a control character other than tab is ignored.
bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto const u = static_cast<unsigned char>(ch);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

/// Any control character, tab included: what a Netscape file's field cannot hold.
bool has_control_or_tab(std::string_view s) {
  return s.find('\t') != std::string_view::npos || has_control(s);
}

/// A domain as a Netscape file may hold it: what a URL's host can be (LDH, '.', '_', and
/// ':' for an IPv6 address), so that no line can turn into a comment or lose a field.
bool plain_domain(std::string_view d) {
  return !d.empty() && d.size() <= cookie_jar::max_attribute &&
         std::all_of(d.begin(), d.end(), [](char ch) {
           return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '-' || ch == '.' ||
                  ch == '_' || ch == ':';
         });
}

bool parse_int(std::string_view s, long long& out) {
  if (s.empty()) return false;
  auto const* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && p == end;
}

}  // namespace

std::int64_t parse_cookie_date(std::string_view text) {
  static constexpr std::string_view months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                "jul", "aug", "sep", "oct", "nov", "dec"};
  int day = -1, month = -1, year = -1, hh = -1, mm = -1, ss = -1;
  std::size_t i = 0;
  while (i < text.size()) {
    // Tokens are runs of letters, digits and ':'; everything else delimits.
    auto const is_tok = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == ':'; };
    while (i < text.size() && !is_tok(text[i])) ++i;
    std::size_t const start = i;
    while (i < text.size() && is_tok(text[i])) ++i;
    auto const t = text.substr(start, i - start);
    if (t.empty()) break;
    long long n = 0;
    if (hh < 0 && t.find(':') != std::string_view::npos) {
      auto const a = t.find(':');
      auto const b = t.find(':', a + 1);
      long long h = 0, m = 0, s = 0;
      if (b != std::string_view::npos && parse_int(t.substr(0, a), h) &&
          parse_int(t.substr(a + 1, b - a - 1), m) && parse_int(t.substr(b + 1), s)) {
        hh = static_cast<int>(h);
        mm = static_cast<int>(m);
        ss = static_cast<int>(s);
      }
    } else if (month < 0 && t.size() >= 3 && std::isalpha(static_cast<unsigned char>(t[0]))) {
      auto const l = lower(t.substr(0, 3));
      for (int k = 0; k < 12; ++k) {
        if (l == months[k]) month = k;
      }
    } else if (parse_int(t, n)) {
      if (day < 0 && t.size() <= 2) {
        day = static_cast<int>(n);
      } else if (year < 0 && (t.size() == 2 || t.size() == 4)) {
        year = static_cast<int>(n);
        if (t.size() == 2) year += year < 70 ? 2000 : 1900;
      }
    }
  }
  if (day < 1 || day > 31 || month < 0 || year < 1601 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
      ss < 0 || ss > 59) {
    return -1;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  return static_cast<std::int64_t>(::timegm(&tm));
}

bool cookie_jar::valid(const cookie& c) {
  return !c.name.empty() && c.name.size() + c.value.size() <= max_name_value &&
         !has_control_or_tab(c.name) && !has_control_or_tab(c.value) && plain_domain(c.domain) &&
         c.domain.front() != '.' &&  // stored without the dot; "..x" is no domain
         !c.path.empty() && c.path.front() == '/' && c.path.size() <= max_attribute &&
         !has_control_or_tab(c.path);
}

void cookie_jar::add(cookie c, std::int64_t now) {
  c.last_use = ++uses_;
  auto const same = [&](const cookie& o) {
    return o.name == c.name && o.domain == c.domain && o.path == c.path;
  };
  auto it = std::find_if(cookies_.begin(), cookies_.end(), same);
  if (it != cookies_.end()) {
    *it = std::move(c);
    return;
  }
  cookies_.push_back(std::move(c));
  evict(now);
}

void cookie_jar::evict(std::int64_t now) {
  // The cookie just stored is the most recently used: it stays unless it is expired.
  std::string const domain = cookies_.back().domain;
  auto const over = [&](bool per_domain) {
    if (!per_domain) return cookies_.size() > max_total;
    return static_cast<std::size_t>(std::count_if(cookies_.begin(), cookies_.end(), [&](const cookie& o) {
             return o.domain == domain;
           })) > max_per_domain;
  };
  for (bool const per_domain : {true, false}) {
    while (over(per_domain)) {
      auto victim = cookies_.end();
      for (auto it = cookies_.begin(); it != cookies_.end(); ++it) {
        if (per_domain && it->domain != domain) continue;
        if (now != 0 && expired(*it, now)) {
          victim = it;
          break;
        }
        if (victim == cookies_.end() || it->last_use < victim->last_use) victim = it;
      }
      cookies_.erase(victim);
    }
  }
}

bool cookie_jar::set_cookie(std::string_view value, std::string_view host_in,
                            std::string_view request_path, bool https, std::int64_t now) {
  std::string const host = lower(host_in);
  if (has_control(value)) return false;
  auto const semi = value.find(';');
  auto const pair = trim(value.substr(0, semi));
  auto const eq = pair.find('=');
  if (eq == std::string_view::npos) return false;
  cookie c;
  c.name = std::string(trim(pair.substr(0, eq)));
  c.value = std::string(trim(pair.substr(eq + 1)));
  if (c.name.empty()) return false;
  c.domain = host;
  c.path = default_path(path_only(request_path));
  bool have_max_age = false;
  std::string domain_attr;
  std::string_view rest = semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1);
  while (!rest.empty()) {
    auto const next = rest.find(';');
    auto const av = trim(rest.substr(0, next));
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
    auto const aeq = av.find('=');
    auto const name = trim(av.substr(0, aeq));
    auto const val = aeq == std::string_view::npos ? std::string_view() : trim(av.substr(aeq + 1));
    if (iequal(name, "max-age")) {
      long long secs = 0;
      if (parse_int(val, secs)) {
        have_max_age = true;
        c.expires = secs <= 0 ? 1 : now + secs;  // 1: long ago, so "expired"
      }
    } else if (iequal(name, "expires")) {
      if (!have_max_age) {
        auto const t = parse_cookie_date(val);
        if (t >= 0) c.expires = t <= 0 ? 1 : t;
      }
    } else if (iequal(name, "domain")) {
      auto d = val;
      if (!plain_domain(d)) return false;
      if (!d.empty() && d.front() == '.') d.remove_prefix(1);
      domain_attr = lower(d);
    } else if (iequal(name, "path")) {
      if (val.size() > max_attribute || has_control_or_tab(val)) return false;
      if (!val.empty() && val.front() == '/') c.path = std::string(val);
    } else if (iequal(name, "secure")) {
      c.secure = true;
    } else if (iequal(name, "httponly")) {
      c.http_only = true;
    }
  }
  if (!domain_attr.empty()) {
    // A Domain the host is not in, or a bare top-level name (no public suffix list here).
    if (!domain_match(host, domain_attr)) return false;
    if (domain_attr.find('.') == std::string::npos && domain_attr != host) return false;
    c.domain = domain_attr;
    c.host_only = false;
  }
  if (c.secure && !https) return false;
  if (!valid(c)) return false;
  if (expired(c, now)) {
    cookies_.erase(std::remove_if(cookies_.begin(), cookies_.end(),
                                  [&](const cookie& o) {
                                    return o.name == c.name && o.domain == c.domain && o.path == c.path;
                                  }),
                   cookies_.end());
    return false;
  }
  add(std::move(c), now);
  return true;
}

std::string cookie_jar::cookie_header(std::string_view host_in, std::string_view request_path,
                                      bool https, std::int64_t now, std::size_t* left_out) {
  std::string const host = lower(host_in);
  auto const path = path_only(request_path);
  std::vector<cookie*> chosen;
  for (auto& c : cookies_) {
    if (expired(c, now)) continue;
    if (c.secure && !https) continue;
    if (c.host_only ? host != c.domain : !domain_match(host, c.domain)) continue;
    if (!path_match(path, c.path)) continue;
    chosen.push_back(&c);
  }
  std::stable_sort(chosen.begin(), chosen.end(),
                   [](const cookie* a, const cookie* b) { return a->path.size() > b->path.size(); });
  std::string out;
  std::size_t sent = 0;
  std::size_t skipped = 0;
  for (auto* c : chosen) {
    std::size_t const grows = (out.empty() ? 0 : 2) + c->name.size() + 1 + c->value.size();
    if (sent == max_header_cookies || out.size() + grows > max_header_bytes) {
      ++skipped;  // a shorter one further on may still fit
      continue;
    }
    if (!out.empty()) out.append("; ");
    out.append(c->name).append("=").append(c->value);
    c->last_use = ++uses_;
    ++sent;
  }
  if (left_out != nullptr) *left_out = skipped;
  return out;
}

std::size_t cookie_jar::add_pairs(std::string_view pairs, std::string_view host) {
  std::size_t refused = 0;
  while (!pairs.empty()) {
    auto const next = pairs.find(';');
    auto const p = trim(pairs.substr(0, next));
    pairs = next == std::string_view::npos ? std::string_view() : pairs.substr(next + 1);
    auto const eq = p.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;  // not a pair: skipped, as before
    cookie c;
    c.name = std::string(trim(p.substr(0, eq)));
    c.value = std::string(trim(p.substr(eq + 1)));
    c.domain = lower(host);
    if (!valid(c)) {
      ++refused;
      continue;
    }
    add(std::move(c));
  }
  return refused;
}

std::size_t cookie_jar::load_netscape(std::string_view text) {
  std::size_t count = 0;
  while (!text.empty()) {
    auto const nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    cookie c;
    constexpr std::string_view http_only_prefix = "#HttpOnly_";
    if (line.substr(0, http_only_prefix.size()) == http_only_prefix) {
      c.http_only = true;
      line.remove_prefix(http_only_prefix.size());
    } else if (line.empty() || line.front() == '#') {
      continue;
    }
    std::vector<std::string_view> f;
    while (f.size() < 6) {
      auto const tab = line.find('\t');
      if (tab == std::string_view::npos) break;
      f.push_back(line.substr(0, tab));
      line.remove_prefix(tab + 1);
    }
    if (f.size() != 6) continue;
    f.push_back(line);  // the value may be empty
    auto domain = f[0];
    if (!domain.empty() && domain.front() == '.') domain.remove_prefix(1);
    long long exp = 0;
    if (domain.empty() || f[5].empty() || !parse_int(f[4], exp) || f[2].empty() || f[2].front() != '/') {
      continue;
    }
    c.domain = lower(domain);
    c.host_only = !iequal(f[1], "TRUE");
    c.path = std::string(f[2]);
    c.secure = iequal(f[3], "TRUE");
    c.expires = exp;
    c.name = std::string(f[5]);
    c.value = std::string(f[6]);
    if (!valid(c)) continue;
    add(std::move(c));
    ++count;
  }
  return count;
}

std::string cookie_jar::to_netscape(std::int64_t now) const {
  std::string out(
      "# Netscape HTTP Cookie File\n"
      "# https://curl.se/docs/http-cookies.html\n"
      "# This file was generated by netdemo. Edit at your own risk.\n\n");
  for (const auto& c : cookies_) {
    if (expired(c, now)) continue;
    if (c.http_only) out.append("#HttpOnly_");
    if (!c.host_only) out.push_back('.');
    out.append(c.domain).push_back('\t');
    out.append(c.host_only ? "FALSE" : "TRUE").push_back('\t');
    out.append(c.path).push_back('\t');
    out.append(c.secure ? "TRUE" : "FALSE").push_back('\t');
    out.append(std::to_string(c.expires)).push_back('\t');
    out.append(c.name).push_back('\t');
    out.append(c.value).push_back('\n');
  }
  return out;
}

}  // namespace netdemo::http
