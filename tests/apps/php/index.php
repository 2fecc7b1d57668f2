<?php
// A front controller, as PHP frameworks have: every URL below /app/index.php reaches this one
// file, which routes on PATH_INFO. Each route prints NAME=value lines the tests read.
declare(strict_types=1);

function lines(array $values): void
{
    header('Content-Type: text/plain; charset=utf-8');
    foreach ($values as $name => $value) {
        echo $name, '=', $value, "\n";
    }
}

$route = $_SERVER['PATH_INFO'] ?? '/';

if ($route === '/' || $route === '') {
    lines(['route' => 'home']);
} elseif (preg_match('#^/hello/([^/]+)$#', $route, $match)) {
    lines(['route' => 'hello', 'name' => $match[1]]);
} elseif ($route === '/server') {
    // What the server told PHP about the request, and what PHP made of it.
    $names = ['SCRIPT_NAME', 'PATH_INFO', 'PATH_TRANSLATED', 'SCRIPT_FILENAME', 'PHP_SELF',
              'REQUEST_URI', 'QUERY_STRING', 'REDIRECT_STATUS', 'DOCUMENT_ROOT',
              'GATEWAY_INTERFACE', 'REQUEST_METHOD',
              // php-cgi's cgi.fix_pathinfo keeps what the server sent here when it changed it.
              'ORIG_SCRIPT_NAME', 'ORIG_PATH_INFO', 'ORIG_SCRIPT_FILENAME', 'ORIG_PATH_TRANSLATED'];
    $values = [];
    foreach ($names as $name) {
        $values[$name] = $_SERVER[$name] ?? '(unset)';
    }
    lines($values + ['php_sapi' => PHP_SAPI, 'executed' => __FILE__]);
} elseif ($route === '/gone') {
    http_response_code(404);
    lines(['route' => 'gone']);
} else {
    http_response_code(404);
    lines(['route' => 'unknown', 'path' => $route]);
}
