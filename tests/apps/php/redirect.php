<?php
// header('Location: ...') alone: PHP turns it into a 302 (it adds "Status: 302 Found").
$to = $_GET['to'] ?? '/app/index.php/hello/redirected';
header('Location: ' . $to);
echo "moved\n";
