<?php
// PHP origin parsers for the differential test (scripts/test-differential.sh), run with
// `php -S 127.0.0.1:PORT router.php`: $_GET, $_POST, $_COOKIE, $_REQUEST (query and body merged),
// parse_str of the raw query, the HTTP_* server variables and json_decode of the body.
$headers = [];
foreach ($_SERVER as $k => $v) {
    if (strncmp($k, 'HTTP_', 5) === 0) { $headers[$k] = $v; }
}
$raw = $_SERVER['QUERY_STRING'] ?? '';
parse_str($raw, $parsed);
$body = file_get_contents('php://input');
header('Content-Type: application/json');
echo json_encode([
    'php-get' => $_GET,
    'php-post' => $_POST,
    'php-cookie' => $_COOKIE,
    'php-request' => $_REQUEST,
    'php-parse-str' => $parsed,
    'php-server' => $headers,
    'php-json' => json_decode($body, true),
    'php-path' => parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH),
], JSON_PARTIAL_OUTPUT_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE);
