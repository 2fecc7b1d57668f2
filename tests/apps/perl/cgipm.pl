#!/usr/bin/perl
# A CGI.pm application, the way Perl CGI scripts are written: routes on path_info().
use strict;
use warnings;
use CGI;
use Digest::SHA;

$CGI::POST_MAX = 16 * 1024 * 1024;
my $q = CGI->new;
my $route = $q->path_info || '/';

sub plain {
    my (%extra) = @_;
    print $q->header(-type => 'text/plain', -charset => 'utf-8', %extra);
}

if ($route eq '/param') {
    plain();
    print 'name=', scalar($q->param('name') // ''), "\n";
    print 'method=', $q->request_method, "\n";
} elsif ($route eq '/multi') {
    # One name, several values (checkboxes, a multiple select).
    my @colours = $q->multi_param('colour');
    plain();
    print 'count=', scalar(@colours), "\n";
    print 'colours=', join(',', @colours), "\n";
} elsif ($route eq '/upload') {
    my $name = $q->param('file');
    my $fh = $q->upload('file');
    if (!defined $fh) {
        print $q->header(-status => '400 Bad Request', -type => 'text/plain');
        print 'error=', ($q->cgi_error || 'no file'), "\n";
        exit;
    }
    binmode $fh;
    my $sha = Digest::SHA->new(256);
    my $size = 0;
    while (read($fh, my $buffer, 65536)) {
        $size += length $buffer;
        $sha->add($buffer);
    }
    plain();
    print "filename=$name\nsize=$size\nsha256=", $sha->hexdigest, "\n";
    print 'comment=', scalar($q->param('comment') // ''), "\n";
} elsif ($route eq '/cookie') {
    my $seen = $q->cookie('flavour');
    my $cookie = $q->cookie(-name => 'flavour', -value => 'ginger snap', -path => '/');
    plain(-cookie => $cookie);
    print 'flavour=', ($seen // '(none)'), "\n";
} elsif ($route eq '/redirect') {
    print $q->redirect(-uri => 'http://' . $q->server_name . ':' . $q->server_port
                                . $q->script_name . '/param?name=redirected');
} else {
    print $q->header(-status => '404 Not Found', -type => 'text/plain');
    print "route=unknown\n";
}
