<?php
// http_response_code() with a code of the caller's choice.
$code = (int)($_GET['code'] ?? 418);
http_response_code($code);
header('Content-Type: text/plain');
echo 'code=', http_response_code(), "\n";
