#!/usr/bin/env bash
# Differential test against real origin parsers (issue 13; docs/threat-model.md, "Origin
# frameworks"): every handed differential case, every example policy case and generated
# spellings go through `pii-edge apply --edge`, and what the edge forwards is read by Python
# (Werkzeug/Flask, Django, SimpleCookie), Node.js (express, qs, cookie), PHP (php -S), Go
# (net/url, net/http, encoding/json), Ruby (Rails: Rack + ActionPack) and Java (Spring's
# spring-web on an embedded Tomcat 9) over loopback. No
# parser may read plaintext under a selected name. Also runs the handed cases' own checker
# (check.py) on the same binary.
# Installs what it needs, idempotently: Debian's golang-go, php-cli, ruby-rack and
# ruby-actionpack, libspring-web-java, libtomcat9-java and a JDK (javac), Flask and Django from
# PyPI, the Node packages pinned in edge-fn/cli/tests/origin_parsers/package.json into
# target/origin-parsers (project-local).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target/origin-parsers"
work="$(cd "$target/origin-parsers" && pwd)"

missing=()
command -v go >/dev/null 2>&1 || missing+=(golang-go)
command -v php >/dev/null 2>&1 || missing+=(php-cli)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# Rails: Rack 2 and ActionPack 6.1 from Debian (edge-fn/cli/tests/origin_parsers/rails.rb).
ruby -e 'require "action_dispatch"; require "action_controller"' >/dev/null 2>&1 ||
  missing+=(ruby ruby-rack ruby-actionpack)
# Spring: Debian's spring-web 4.3 and Tomcat 9 jars, compiled against with the JDK's javac
# (edge-fn/cli/tests/origin_parsers/SpringOrigin.java).
for pkg in libspring-web-java libtomcat9-java; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
python3 -m pip install --quiet --disable-pip-version-check -r scripts/differential-requirements.txt

cp edge-fn/cli/tests/origin_parsers/package.json "$work/package.json"
if ! cmp -s "$work/package.json" "$work/.installed" 2>/dev/null; then
  (cd "$work" && npm install --silent --no-audit --no-fund >/dev/null)
  cp "$work/package.json" "$work/.installed"
fi
(cd edge-fn/cli/tests/origin_parsers && GOFLAGS=-mod=mod go build -o "$work/goparse" .)
jars=""
for j in spring3-web spring3-core spring3-beans spring3-context commons-logging tomcat9-api \
  tomcat9-catalina tomcat9-coyote tomcat9-juli tomcat9-util tomcat9-util-scan tomcat9-servlet-api \
  tomcat9-jaspic-api tomcat9-annotations-api tomcat9-jni; do
  jars="$jars:/usr/share/java/$j.jar"
done
mkdir -p "$work/spring"
javac -nowarn -d "$work/spring" -cp "${jars#:}" edge-fn/cli/tests/origin_parsers/SpringOrigin.java
echo "$work/spring$jars" >"$work/spring/classpath"

cargo build --quiet -p pii-edge-cli
cli="$target/debug/pii-edge"

echo "origin parsers: python $(python3 -c 'import sys; print(sys.version.split()[0])')," \
  "flask $(python3 -c 'import importlib.metadata as m; print(m.version("flask"))')," \
  "werkzeug $(python3 -c 'import importlib.metadata as m; print(m.version("werkzeug"))')," \
  "django $(python3 -c 'import django; print(django.get_version())')," \
  "node $(node --version), express $(node -p "require('$work/node_modules/express/package.json').version")," \
  "qs $(node -p "require('$work/node_modules/qs/package.json').version")," \
  "cookie $(node -p "require('$work/node_modules/cookie/package.json').version")," \
  "$(php -r 'echo "php ", PHP_VERSION;'), $(go version | cut -d' ' -f3)," \
  "$(ruby -e 'require "action_pack/version"; require "rack"; print "ruby ", RUBY_VERSION, ", actionpack ", ActionPack::VERSION::STRING, ", rack ", Rack.release')," \
  "spring-web $(dpkg-query -W -f='${Version}' libspring-web-java)," \
  "tomcat $(dpkg-query -W -f='${Version}' libtomcat9-java), $(javac -version 2>&1)"

python3 edge-fn/cli/tests/differentials/check.py "$cli" edge-fn/cli/tests/differentials
python3 edge-fn/cli/tests/origin_parsers/differential.py "$cli" "$work"
