<?php
// $_GET and $_POST as PHP parses them (urlencoded or multipart), arrays included.
header('Content-Type: application/json');
echo json_encode(['method' => $_SERVER['REQUEST_METHOD'], 'get' => $_GET, 'post' => $_POST]),
     "\n";
