# Rails (Rack + ActionPack, Debian's ruby-rack and ruby-actionpack) as an origin parser for the
# differential test (scripts/test-differential.sh): answers every request with what Rails reads,
# as JSON. A plain TCP loop (no web server gem): the request is read as HTTP/1.1 and handed to
# Rack as its environment, then ActionDispatch parses it the way a Rails controller sees it.
#
# Views:
#   rails-params   ActionDispatch::Request#parameters: query, form and JSON body merged (the
#                  query wins, whole top-level keys at a time), nested brackets parsed
#   rails-wrapped  what ActionController::ParamsWrapper (on for JSON by default) adds: for
#                  each root key the policy's JSON paths start with (X-Diff-Paths), the body's
#                  top-level members under that key when the body has none
#   rack-query     Rack::Utils.parse_nested_query of the raw query string (Rack 2)
#   rack-cookies   Rack's cookie parsing (request.cookies)
require 'socket'
require 'json'
require 'rack'
require 'action_dispatch'
require 'action_controller'

def views(env, paths)
  req = ActionDispatch::Request.new(env)
  out = {}
  begin
    params = req.parameters
    out['rails-params'] = params
  rescue StandardError => e
    out['rails-params'] = { '__error__' => [e.class.name] }
    params = {}
  end
  begin
    out['rack-query'] = Rack::Utils.parse_nested_query(env['QUERY_STRING'] || '')
  rescue StandardError => e
    out['rack-query'] = { '__error__' => [e.class.name] }
  end
  begin
    out['rack-cookies'] = req.cookies
  rescue StandardError => e
    out['rack-cookies'] = { '__error__' => [e.class.name] }
  end
  wrapped = {}
  if req.content_mime_type && req.content_mime_type.symbol == :json
    body = begin
      req.request_parameters
    rescue StandardError
      {}
    end
    roots = paths.map { |p| p.first }.compact.uniq.reject { |r| r == '*' }
    roots.each do |root|
      next if params.key?(root)

      # ParamsWrapper without a model wraps every top-level member.
      wrapped[root] = body.except('format', 'controller', 'action')
    end
  end
  out['rails-wrapped'] = wrapped
  out
end

def serve(client)
  line = client.gets or return
  method, target, = line.split(' ')
  headers = {}
  while (h = client.gets) && h != "\r\n"
    name, value = h.split(':', 2)
    (headers[name.strip.downcase] ||= []) << value.to_s.strip
  end
  length = (headers['content-length'] || ['0']).first.to_i
  body = length.positive? ? client.read(length) : ''
  path, query = target.split('?', 2)
  env = Rack::MockRequest.env_for(path, method: method, input: body)
  env['QUERY_STRING'] = query || ''
  env['REQUEST_URI'] = target
  headers.each do |name, values|
    key = name.upcase.tr('-', '_')
    value = name == 'cookie' ? values.join('; ') : values.join(', ')
    case key
    when 'CONTENT_TYPE' then env['CONTENT_TYPE'] = value
    when 'CONTENT_LENGTH' then env['CONTENT_LENGTH'] = value
    else env["HTTP_#{key}"] = value
    end
  end
  paths = begin
    JSON.parse(env['HTTP_X_DIFF_PATHS'] || '[]')
  rescue JSON::ParserError
    []
  end
  answer = JSON.generate(views(env, paths))
  client.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
               "Content-Length: #{answer.bytesize}\r\nConnection: close\r\n\r\n#{answer}")
rescue StandardError => e
  msg = JSON.generate({ 'rails-error' => e.class.name })
  client.write("HTTP/1.1 200 OK\r\nContent-Length: #{msg.bytesize}\r\nConnection: close\r\n\r\n#{msg}")
ensure
  client.close
end

server = TCPServer.new('127.0.0.1', Integer(ARGV[0]))
$stdout.puts 'rails ready'
$stdout.flush
loop { serve(server.accept) }
