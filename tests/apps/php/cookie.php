<?php
// Sets a cookie on every call and reports the ones the browser sent back.
setcookie('flavour', 'oatmeal raisin', ['path' => '/', 'httponly' => true, 'samesite' => 'Lax']);
setcookie('count', (string)((int)($_COOKIE['count'] ?? 0) + 1), ['path' => '/']);
header('Content-Type: text/plain');
foreach ($_COOKIE as $name => $value) {
    echo 'cookie.', $name, '=', $value, "\n";
}
echo "done=yes\n";
