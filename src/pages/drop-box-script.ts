/**
 * The drop-box upload page's one script (browser JavaScript, allowed by its hash): it sends each
 * chosen file as one STOW-RS request (multipart/related built here, plain fetch) to the gateway's
 * own /pacs/dicom-web/studies, shows the progress file by file, and writes only counts and fixed
 * texts into the page. It reads nothing else: a drop box may not.
 */
export const DROP_BOX_SCRIPT = `(function () {
  'use strict';
  var byId = function (id) { return document.getElementById(id); };
  var say = function (text) { byId('status').textContent = text; };
  var CRLF = '\\r\\n';

  function boundary() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return 'dropbox-' + Array.prototype.map.call(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  // One file, one STOW-RS request: resolves to the number of instances stored (0 or 1).
  function send(file) {
    var mark = boundary();
    var body = new Blob(['--' + mark + CRLF + 'Content-Type: application/dicom' + CRLF + CRLF, file, CRLF + '--' + mark + '--' + CRLF]);
    return fetch('/pacs/dicom-web/studies', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/dicom+json', 'content-type': 'multipart/related; type="application/dicom"; boundary=' + mark },
      body: body,
    }).then(function (response) {
      if (response.status === 401) throw new Error('expired');
      if (!response.ok) return 0;
      return response.json().then(function (answer) {
        var stored = answer && answer['00081199'] && answer['00081199'].Value;
        return stored ? stored.length : 0;
      }, function () { return 0; });
    });
  }

  byId('upload').addEventListener('submit', function (event) {
    event.preventDefault();
    var files = Array.prototype.slice.call(byId('files').files || []);
    if (files.length === 0) { say('Choose one or more DICOM files first.'); return; }
    var progress = byId('progress');
    var button = byId('send');
    var sent = 0;
    var failed = 0;
    progress.max = files.length;
    progress.value = 0;
    progress.hidden = false;
    button.disabled = true;
    var next = function (index) {
      if (index === files.length) {
        button.disabled = false;
        say('Done: ' + sent + ' of ' + files.length + ' files sent' + (failed ? ', ' + failed + ' not accepted (not DICOM, or refused).' : '.'));
        return;
      }
      say('Sending file ' + (index + 1) + ' of ' + files.length + '…');
      send(files[index]).then(function (stored) {
        if (stored > 0) sent += 1; else failed += 1;
        progress.value = index + 1;
        next(index + 1);
      }, function (error) {
        button.disabled = false;
        say(error.message === 'expired'
          ? 'This drop box no longer accepts files (expired or revoked). Ask the person who shared this link.'
          : 'Sending stopped: the image archive could not be reached. ' + sent + ' of ' + files.length + ' files were sent.');
      });
    };
    next(0);
  });
})();`;
