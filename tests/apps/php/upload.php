<?php
// A multipart upload: PHP spools it to a temporary file; the SHA-256 is computed here, from
// what PHP received, for the test to compare with its own.
header('Content-Type: text/plain');
$file = $_FILES['file'] ?? null;
if ($file === null) {
    http_response_code(400);
    echo "error=no file\n";
    exit;
}
echo 'error=', $file['error'], "\n";
echo 'name=', $file['name'], "\n";
echo 'size=', $file['size'], "\n";
if ($file['error'] === UPLOAD_ERR_OK) {
    echo 'sha256=', hash_file('sha256', $file['tmp_name']), "\n";
    echo 'uploaded=', is_uploaded_file($file['tmp_name']) ? 'yes' : 'no', "\n";
}
echo 'comment=', $_POST['comment'] ?? '', "\n";
