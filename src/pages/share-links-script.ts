/**
 * The share links page's one script (browser JavaScript, allowed by its hash): it only calls the
 * gateway's own APIs — QIDO-RS to find studies, /auth/share to create, list and revoke links — and
 * writes every value with textContent, never as HTML (patient names come from DICOM files).
 */
export const SHARE_LINKS_SCRIPT = `(function () {
  'use strict';
  var byId = function (id) { return document.getElementById(id); };
  var statusLine = byId('status');
  var say = function (text) { statusLine.textContent = text; };
  var tag = function (study, code) {
    var element = study[code];
    var value = element && element.Value && element.Value[0];
    if (value && typeof value === 'object') return value.Alphabetic || '';
    return value === undefined || value === null ? '' : String(value);
  };
  // DICOM person names: "Family^Given^…" shown as "Family, Given …".
  var personName = function (text) {
    var parts = text.split('^');
    var given = parts.slice(1).join(' ').trim();
    return given ? parts[0] + ', ' + given : parts[0];
  };
  var dicomDate = function (text) { return /^\\d{8}$/.test(text) ? text.slice(0, 4) + '-' + text.slice(4, 6) + '-' + text.slice(6) : text; };

  function api(method, url, body) {
    var init = { method: method, credentials: 'same-origin', headers: { accept: url.indexOf('/pacs/') === 0 ? 'application/dicom+json' : 'application/json' } };
    if (body) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(url, init).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return null; }).then(function (json) {
        if (!response.ok) throw new Error((json && json.message) || 'HTTP ' + response.status);
        return json;
      });
    });
  }

  function cell(row, text) {
    var td = document.createElement('td');
    td.textContent = text;
    row.appendChild(td);
    return td;
  }
  function button(text, onClick, primary) {
    var b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    if (primary) b.className = 'primary';
    b.addEventListener('click', onClick);
    return b;
  }

  var known = {};
  function describe(uid) {
    if (known[uid]) return Promise.resolve(known[uid]);
    return api('GET', '/pacs/dicom-web/studies?includefield=00081030&StudyInstanceUID=' + encodeURIComponent(uid)).then(function (found) {
      var study = found && found[0];
      return study ? remember(study) : uid;
    }, function () { return uid; });
  }
  function remember(study) {
    var uid = tag(study, '0020000D');
    known[uid] = [personName(tag(study, '00100010')), dicomDate(tag(study, '00080020')), tag(study, '00081030')].filter(Boolean).join(' · ') || uid;
    return known[uid];
  }

  function copy(url) {
    var field = byId('new-link');
    field.value = url;
    byId('created').hidden = false;
    var done = function () { say('Link copied to the clipboard.'); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      return navigator.clipboard.writeText(url).then(done, function () { field.select(); say('Select the link and copy it.'); });
    }
    field.select();
    say('Select the link and copy it.');
  }

  function showLinks() {
    return api('GET', '/auth/share').then(function (links) {
      var body = byId('links').querySelector('tbody');
      body.textContent = '';
      byId('none').hidden = links.length > 0;
      byId('links').hidden = links.length === 0;
      links.forEach(function (link) {
        var row = document.createElement('tr');
        row.setAttribute('data-link', link.id);
        if (link.dropBox) {
          cell(row, 'Drop box (upload only)');
        } else {
          var study = cell(row, link.studyInstanceUID);
          describe(link.studyInstanceUID).then(function (text) { study.textContent = text; });
        }
        cell(row, new Date(link.expiresAt).toLocaleString());
        cell(row, link.maxUses === undefined ? 'Unlimited' : link.usesLeft + ' of ' + link.maxUses);
        var actions = cell(row, '');
        actions.appendChild(button('Copy link', function () { copy(link.url); }));
        actions.appendChild(button('Revoke', function () {
          api('DELETE', '/auth/share/' + encodeURIComponent(link.id)).then(function () { say('Link revoked: it no longer opens the study.'); return showLinks(); }, function (error) { say('Could not revoke the link: ' + error.message); });
        }));
        body.appendChild(row);
      });
    }, function (error) { say('Could not list your links: ' + error.message); });
  }

  // uid undefined: a drop-box link.
  function share(uid) {
    var request = uid ? { studyInstanceUID: uid } : { dropBox: true };
    request.expiresInSeconds = Number(byId('expiry').value);
    if (byId('uses').value) request.maxUses = Number(byId('uses').value);
    return api('POST', '/auth/share', request).then(function (link) {
      say('Link created.');
      byId('new-link').value = link.url;
      byId('created').hidden = false;
      byId('new-link').select();
      return showLinks();
    }, function (error) { say('Could not create the link: ' + error.message); });
  }

  // Only the latest search may fill the table: the unfiltered one of the page load can answer last.
  var latestSearch = 0;
  function search(event) {
    if (event) event.preventDefault();
    var mine = ++latestSearch;
    var name = byId('patient').value.trim();
    var url = '/pacs/dicom-web/studies?limit=25&includefield=00081030' + (name ? '&PatientName=' + encodeURIComponent(name.indexOf('*') === -1 ? name + '*' : name) : '');
    say('Searching…');
    api('GET', url).then(function (studies) {
      if (mine !== latestSearch) return;
      var body = byId('studies').querySelector('tbody');
      body.textContent = '';
      (studies || []).forEach(function (study) {
        var uid = tag(study, '0020000D');
        remember(study);
        var row = document.createElement('tr');
        cell(row, personName(tag(study, '00100010')));
        cell(row, dicomDate(tag(study, '00080020')));
        cell(row, tag(study, '00081030'));
        cell(row, '').appendChild(button('Create link', function () { share(uid); }, true));
        body.appendChild(row);
      });
      byId('studies').hidden = false;
      say((studies || []).length + ' studies found.');
    }, function (error) { say('Could not search: ' + error.message); });
  }

  byId('search').addEventListener('submit', search);
  byId('copy').addEventListener('click', function () { copy(byId('new-link').value); });
  if (byId('drop-box')) byId('drop-box').addEventListener('click', function () { share(); });
  showLinks();
  search();
})();`;
