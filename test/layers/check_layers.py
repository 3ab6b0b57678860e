#!/usr/bin/env python3
"""Checks the include graph of lib/ against the layer rules of docs/architecture.md.

Layers, lowest first: proto, net, client, http, bench. A file of lib/include/netdemo/<layer>/
or lib/src/<layer>/ may include netdemo headers of its own layer and of lower ones, never of a
higher one. proto includes nothing but the C++ standard library (no Boost, no OpenSSL, no zlib),
so a program can link netdemo::proto alone. Only the TLS module (lib/src/net/tls_openssl.cpp
and lib/src/http/tls.cpp) includes OpenSSL's headers, so that a plain-TCP or http start-up never loads it. The top-level headers
(lib/include/netdemo/*.hpp) belong to no layer and may include none.

  check_layers.py [LIB_DIR]     check lib/ (default: the lib/ next to test/)
  check_layers.py --self-test   prove that the check fails on each kind of violation
"""
import pathlib
import re
import sys
import tempfile

LAYERS = ["proto", "net", "client", "http", "bench"]
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
# Headers a layer may not include, whatever it includes of netdemo.
FORBIDDEN = {
    "proto": [r"^boost/", r"^openssl/", r"^zlib\.h$"],
    "net": [r"^boost/url", r"^boost/beast", r"^openssl/"],
    "client": [r"^boost/url", r"^boost/beast", r"^openssl/"],
    "http": [r"^openssl/"],
    "bench": [r"^openssl/"],
}
# Files allowed what their layer is not: the TLS module is OpenSSL's only door.
EXCEPTIONS = {("net", "src/net/tls_openssl.cpp"): [r"^openssl/"],
              ("http", "src/http/tls.cpp"): [r"^openssl/"]}


def layer_of(rel: pathlib.PurePosixPath):
    """('proto', ...) for include/netdemo/proto/x.hpp or src/proto/x.cpp; None at the top."""
    parts = rel.parts
    if parts[:2] == ("include", "netdemo"):
        parts = parts[2:]
    elif parts[:1] == ("src",):
        parts = parts[1:]
    else:
        return "?"
    if len(parts) == 1:
        return None  # a top-level header: netdemo/version.hpp
    return parts[0]


def check(lib: pathlib.Path):
    problems = []
    files = sorted(p for p in lib.rglob("*") if p.suffix in (".hpp", ".cpp", ".ipp") and p.is_file())
    if not files:
        return [f"no sources under {lib}"]
    for path in files:
        rel = pathlib.PurePosixPath(path.relative_to(lib).as_posix())
        layer = layer_of(rel)
        if layer == "?":
            continue
        if layer is not None and layer not in LAYERS:
            problems.append(f"{rel}: folder '{layer}' is not a layer ({', '.join(LAYERS)})")
            continue
        allowed_extra = EXCEPTIONS.get((layer, str(rel)), [])
        for target in INCLUDE.findall(path.read_text(errors="replace")):
            m = re.match(r"^netdemo/([a-z_]+)/", target)
            if m:
                used = m.group(1)
                if used not in LAYERS:
                    problems.append(f"{rel}: includes {target}: '{used}' is not a layer")
                elif layer is None:
                    problems.append(f"{rel}: a top-level header includes the layer header {target}")
                elif LAYERS.index(used) > LAYERS.index(layer):
                    problems.append(f"{rel}: {layer} includes {target} from the higher layer {used}")
                continue
            for pattern in FORBIDDEN.get(layer or "proto", []):
                if re.search(pattern, target) and not any(re.search(a, target) for a in allowed_extra):
                    problems.append(f"{rel}: {layer or 'top-level'} includes <{target}>")
    return problems


def self_test():
    cases = {
        "include/netdemo/proto/a.hpp": "#include <boost/asio/io_context.hpp>\n",
        "src/proto/b.cpp": '#include "netdemo/net/log.hpp"\n',
        "include/netdemo/net/c.hpp": "#include <netdemo/http/client.hpp>\n",
        "src/client/d.cpp": "#include <boost/beast/http.hpp>\n",
        "src/http/e.cpp": "#include <openssl/ssl.h>\n",
        "include/netdemo/f.hpp": '#include "netdemo/proto/text.hpp"\n',
        "include/netdemo/tcp/g.hpp": "\n",
    }
    failures = 0
    for rel, text in cases.items():
        with tempfile.TemporaryDirectory() as d:
            lib = pathlib.Path(d)
            ok = lib / "include/netdemo/proto/ok.hpp"
            ok.parent.mkdir(parents=True)
            ok.write_text("#include <string>\n#include \"netdemo/proto/x.hpp\"\n")
            f = lib / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(text)
            if not check(lib):
                print(f"self-test: the violation in {rel} was not found")
                failures += 1
    with tempfile.TemporaryDirectory() as d:
        lib = pathlib.Path(d)
        for rel, text in {"include/netdemo/http/h.hpp": "#include <boost/url.hpp>\n#include \"netdemo/net/x.hpp\"\n",
                          "src/http/tls.cpp": "#include <openssl/ssl.h>\n",
                          "src/bench/l.cpp": '#include "netdemo/http/client.hpp"\n'}.items():
            (lib / rel).parent.mkdir(parents=True, exist_ok=True)
            (lib / rel).write_text(text)
        if check(lib):
            print(f"self-test: a clean tree was refused: {check(lib)}")
            failures += 1
    print("self-test:", "ok" if failures == 0 else f"{failures} failure(s)")
    return 1 if failures else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    lib = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2] / "lib"
    problems = check(lib)
    for p in problems:
        print(p)
    print(f"check_layers: {len(problems)} problem(s) in {lib}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
