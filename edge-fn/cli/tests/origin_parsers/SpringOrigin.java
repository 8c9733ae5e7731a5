// Spring (Debian's spring-web 4.3 on an embedded Tomcat 9, libspring-web-java and
// libtomcat9-java) as an origin parser for the differential test
// (scripts/test-differential.sh). Every request is read by Spring's and Tomcat's own code, as a
// Spring MVC application on Spring Boot's default container reads it, and answered with what
// each of them read, as JSON. Nothing here parses a name or a value itself; it only walks what
// Spring bound and prints it.
//
// Views:
//   spring-params      ServletRequest#getParameterMap (Tomcat: query and form merged) behind
//                      Spring's CharacterEncodingFilter (UTF-8, forced, as Spring Boot sets it)
//                      and HttpPutFormContentFilter (form bodies of PUT and PATCH); this is what
//                      @RequestParam and ServletRequestDataBinder read
//   spring-bound       ServletRequestDataBinder (a @ModelAttribute's binder: `!` default values,
//                      `_` field markers, nested `a.b` and indexed `a[0].b` property paths) on a
//                      bean whose properties are the policy's names (X-Diff-Names) and JSON paths
//                      (X-Diff-Paths), plain bean classes compiled
//                      at run time
//   spring-bound-map   the same binder on a target whose nested properties are maps, where
//                      Spring reads `a[b]` as the key `b` of map `a`
//   spring-uri-query   UriComponentsBuilder.fromHttpRequest(ServletServerHttpRequest), its query
//                      parameters decoded with UriUtils.decode
//   spring-cookies     HttpServletRequest#getCookies (Tomcat's RFC 6265 cookie processor;
//                      @CookieValue reads these)
//   spring-headers     HttpServletRequest#getHeaders, names in lower case
import java.io.File;
import java.io.IOException;
import java.lang.reflect.Array;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.servlet.http.Cookie;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.springframework.beans.BeanWrapper;
import org.springframework.beans.PropertyAccessorFactory;
import org.springframework.http.server.ServletServerHttpRequest;
import org.springframework.util.MultiValueMap;
import org.springframework.web.bind.ServletRequestDataBinder;
import org.springframework.web.filter.CharacterEncodingFilter;
import org.springframework.web.filter.HttpPutFormContentFilter;
import org.springframework.web.util.UriComponentsBuilder;
import org.springframework.web.util.UriUtils;

public class SpringOrigin {
    /** A shape of names: name -> child shape; "*" is an array of the child shape. */
    static final class Shape extends LinkedHashMap<String, Shape> {}

    static Shape shapeOf(List<List<String>> paths) {
        Shape root = new Shape();
        for (List<String> p : paths) {
            Shape at = root;
            for (String name : p) {
                at = at.computeIfAbsent(name, k -> new Shape());
            }
        }
        return root;
    }

    /** Bean classes for a shape, as Java source compiled at run time (javax.tools) and cached
     *  per shape: plain getters and setters, the kind of class a @ModelAttribute binds to. A
     *  leaf is a String[]; members are a nested bean (or a Map when `maps`); a shape with "*" is
     *  an array of the child's type. Names that are not Java identifiers cannot be bean properties and are
     *  left out (no bean of a Spring application can have them either). */
    static final Map<String, Class<?>> CLASSES = new java.util.HashMap<>();

    static synchronized Class<?> targetClass(Shape shape, boolean maps) throws IOException {
        String key = maps + shape.toString();
        Class<?> c = CLASSES.get(key);
        if (c != null) {
            return c;
        }
        Map<String, String> sources = new LinkedHashMap<>();
        String top = typeName(shape, maps, sources, true);
        File dir = Files.createTempDirectory(BASE.toPath(), "beans").toFile();
        List<File> files = new ArrayList<>();
        for (Map.Entry<String, String> e : sources.entrySet()) {
            File f = new File(dir, e.getKey() + ".java");
            Files.write(f.toPath(), e.getValue().getBytes("UTF-8"));
            files.add(f);
        }
        javax.tools.JavaCompiler javac = javax.tools.ToolProvider.getSystemJavaCompiler();
        try (javax.tools.StandardJavaFileManager fm = javac.getStandardFileManager(null, null, null)) {
            if (!javac.getTask(null, fm, null, java.util.Arrays.asList("-d", dir.getPath()), null,
                    fm.getJavaFileObjectsFromFiles(files)).call()) {
                throw new IllegalStateException("bean classes did not compile");
            }
        }
        java.net.URLClassLoader loader = new java.net.URLClassLoader(
                new java.net.URL[] {dir.toURI().toURL()}, SpringOrigin.class.getClassLoader());
        try {
            c = loader.loadClass(top);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
        CLASSES.put(key, c);
        return c;
    }

    static int counter;

    /** Tomcat's base directory and the compiled beans, removed when the JVM exits (the
     *  differential test stops it with SIGTERM). */
    static File BASE;

    static void removeTree(File f) {
        File[] children = f.listFiles();
        if (children != null) {
            for (File c : children) {
                removeTree(c);
            }
        }
        f.delete();
    }

    static String typeName(Shape shape, boolean maps, Map<String, String> sources, boolean top) {
        if (shape.isEmpty()) {
            return "String[]";
        }
        if (shape.containsKey("*") && !top) {
            // An array (members beside `*` come from `..name` rules, covered inside it).
            String inner = typeName(shape.get("*"), maps, sources, false);
            return inner.equals("String[]") ? inner : inner + "[]";
        }
        if (maps && !top) {
            return "java.util.Map";
        }
        String name = "Bean" + (counter++);
        StringBuilder src = new StringBuilder("public class " + name + " {\n");
        for (Map.Entry<String, Shape> e : shape.entrySet()) {
            String p = e.getKey();
            if (!javax.lang.model.SourceVersion.isIdentifier(p) || javax.lang.model.SourceVersion.isKeyword(p)) {
                continue;
            }
            String t = typeName(e.getValue(), maps, sources, false);
            String cap = Character.toUpperCase(p.charAt(0)) + p.substring(1);
            src.append("  private ").append(t).append(" f_").append(p).append(";\n");
            src.append("  public ").append(t).append(" get").append(cap).append("() { return f_")
                    .append(p).append("; }\n");
            src.append("  public void set").append(cap).append("(").append(t).append(" v) { f_")
                    .append(p).append(" = v; }\n");
        }
        src.append("}\n");
        sources.put(name, src.toString());
        return name;
    }

    /** What the binder put in the target, as plain maps and lists for the JSON answer. */
    static Object dump(Object v) {
        if (v == null) {
            return null;
        }
        if (v instanceof String || v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        if (v.getClass().isArray()) {
            List<Object> out = new ArrayList<>();
            for (int i = 0; i < Array.getLength(v); i++) {
                out.add(dump(Array.get(v, i)));
            }
            return out;
        }
        if (v instanceof Map) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                out.put(String.valueOf(e.getKey()), dump(e.getValue()));
            }
            return out;
        }
        if (v instanceof Collection) {
            List<Object> out = new ArrayList<>();
            for (Object x : (Collection<?>) v) {
                out.add(dump(x));
            }
            return out;
        }
        BeanWrapper bw = PropertyAccessorFactory.forBeanPropertyAccess(v);
        Map<String, Object> out = new LinkedHashMap<>();
        for (java.beans.PropertyDescriptor pd : bw.getPropertyDescriptors()) {
            if (pd.getName().equals("class") || !bw.isReadableProperty(pd.getName())) {
                continue;
            }
            Object x = bw.getPropertyValue(pd.getName());
            if (x != null) {
                out.put(pd.getName(), dump(x));
            }
        }
        return out;
    }

    static Object bind(HttpServletRequest req, Shape shape, boolean maps) {
        try {
            Object target = targetClass(shape, maps).getDeclaredConstructor().newInstance();
            ServletRequestDataBinder binder = new ServletRequestDataBinder(target);
            binder.bind(req);
            return dump(target);
        } catch (ReflectiveOperationException | IOException | RuntimeException e) {
            return Collections.singletonMap("__error__", e.getClass().getName());
        }
    }

    // ---- the JSON answer (printing only) --------------------------------------------------

    static void json(StringBuilder sb, Object v) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof String) {
            sb.append('"');
            for (char c : ((String) v).toCharArray()) {
                if (c == '"' || c == '\\') {
                    sb.append('\\').append(c);
                } else if (c < 0x20) {
                    sb.append(String.format("\\u%04x", (int) c));
                } else {
                    sb.append(c);
                }
            }
            sb.append('"');
        } else if (v instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                json(sb, String.valueOf(e.getKey()));
                sb.append(':');
                json(sb, e.getValue());
            }
            sb.append('}');
        } else if (v instanceof Collection) {
            sb.append('[');
            boolean first = true;
            for (Object x : (Collection<?>) v) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                json(sb, x);
            }
            sb.append(']');
        } else if (v.getClass().isArray()) {
            json(sb, dump(v));
        } else {
            json(sb, v.toString());
        }
    }

    /** The X-Diff-Paths / X-Diff-Names headers: a JSON array of arrays of strings, as the
     *  differential test writes it (plain strings without escapes). */
    static List<List<String>> readPaths(String header) {
        List<List<String>> out = new ArrayList<>();
        if (header == null) {
            return out;
        }
        List<String> cur = null;
        StringBuilder s = null;
        boolean esc = false;
        int depth = 0;
        char[] cs = header.toCharArray();
        for (int i = 0; i < cs.length; i++) {
            char c = cs[i];
            if (s != null) {
                if (esc && c == 'u' && i + 4 < cs.length) {
                    s.append((char) Integer.parseInt(new String(cs, i + 1, 4), 16));
                    i += 4;
                    esc = false;
                } else if (esc) {
                    s.append(c);
                    esc = false;
                } else if (c == '\\') {
                    esc = true;
                } else if (c == '"') {
                    cur.add(s.toString());
                    s = null;
                } else {
                    s.append(c);
                }
            } else if (c == '[') {
                depth++;
                if (depth == 2) {
                    cur = new ArrayList<>();
                }
            } else if (c == ']') {
                if (depth == 2) {
                    out.add(cur);
                }
                depth--;
            } else if (c == '"' && cur != null) {
                s = new StringBuilder();
            }
        }
        return out;
    }

    static class Views extends HttpServlet {
        @Override
        protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
            Map<String, Object> out = new LinkedHashMap<>();
            List<List<String>> paths = readPaths(req.getHeader("X-Diff-Paths"));
            paths.addAll(readPaths(req.getHeader("X-Diff-Names")));
            Shape shape = shapeOf(paths);
            try {
                Map<String, Object> params = new LinkedHashMap<>();
                for (Map.Entry<String, String[]> e : req.getParameterMap().entrySet()) {
                    params.put(e.getKey(), dump(e.getValue()));
                }
                out.put("spring-params", params);
            } catch (RuntimeException e) {
                out.put("spring-params", Collections.singletonMap("__error__", e.getClass().getName()));
            }
            out.put("spring-bound", bind(req, shape, false));
            out.put("spring-bound-map", bind(req, shape, true));
            try {
                MultiValueMap<String, String> q = UriComponentsBuilder
                        .fromHttpRequest(new ServletServerHttpRequest(req)).build().getQueryParams();
                Map<String, Object> query = new LinkedHashMap<>();
                for (Map.Entry<String, List<String>> e : q.entrySet()) {
                    List<Object> values = new ArrayList<>();
                    for (String v : e.getValue()) {
                        values.add(v == null ? null : UriUtils.decode(v, "UTF-8"));
                    }
                    query.put(UriUtils.decode(e.getKey(), "UTF-8"), values);
                }
                out.put("spring-uri-query", query);
            } catch (RuntimeException e) {
                out.put("spring-uri-query", Collections.singletonMap("__error__", e.getClass().getName()));
            }
            Map<String, Object> cookies = new LinkedHashMap<>();
            Cookie[] cs = req.getCookies();
            if (cs != null) {
                for (Cookie c : cs) {
                    cookies.put(c.getName(), c.getValue());
                }
            }
            out.put("spring-cookies", cookies);
            Map<String, Object> headers = new LinkedHashMap<>();
            for (String name : Collections.list(req.getHeaderNames())) {
                headers.put(name.toLowerCase(), Collections.list(req.getHeaders(name)));
            }
            out.put("spring-headers", headers);
            StringBuilder sb = new StringBuilder();
            json(sb, out);
            byte[] body = sb.toString().getBytes("UTF-8");
            resp.setContentType("application/json");
            resp.setContentLength(body.length);
            resp.getOutputStream().write(body);
        }
    }

    public static void main(String[] args) throws Exception {
        File base = Files.createTempDirectory("spring-origin").toFile();
        BASE = base;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> removeTree(base)));
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(base.getAbsolutePath());
        Connector connector = new Connector();
        connector.setPort(Integer.parseInt(args[0]));
        connector.setProperty("address", "127.0.0.1");
        tomcat.getService().addConnector(connector);
        tomcat.setConnector(connector);
        Context ctx = tomcat.addContext("", base.getAbsolutePath());
        Tomcat.addServlet(ctx, "views", new Views());
        ctx.addServletMappingDecoded("/*", "views");
        CharacterEncodingFilter utf8 = new CharacterEncodingFilter("UTF-8", true);
        addFilter(ctx, "utf8", utf8);
        addFilter(ctx, "putForm", new HttpPutFormContentFilter());
        tomcat.start();
        System.out.println("spring ready");
        tomcat.getServer().await();
    }

    static void addFilter(Context ctx, String name, javax.servlet.Filter filter) {
        FilterDef def = new FilterDef();
        def.setFilterName(name);
        def.setFilter(filter);
        ctx.addFilterDef(def);
        FilterMap map = new FilterMap();
        map.setFilterName(name);
        map.addURLPattern("/*");
        ctx.addFilterMap(map);
    }
}
