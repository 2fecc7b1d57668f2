<?php
// A counter kept in a PHP session: the session cookie must go out and come back.
session_start();
$_SESSION['visits'] = ($_SESSION['visits'] ?? 0) + 1;
header('Content-Type: text/plain');
echo 'visits=', $_SESSION['visits'], "\n";
echo 'session_name=', session_name(), "\n";
