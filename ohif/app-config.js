/**
 * OHIF 3.13 configuration for the viewer served by orthanc-oidc-gateway at `/` (session mode).
 *
 * scripts/fetch-ohif.mjs copies this file over the `app-config.js` of the pinned OHIF build;
 * OHIF's index.html loads it from `/app-config.js` before the app bundle.
 *
 * No `oidc` block: the gateway's session cookie authenticates. Every DICOMweb call goes to the
 * same origin (`/pacs/...`), so the browser sends the cookie and the gateway adds the Orthanc
 * credential. When the session has expired the gateway answers 401 and we go through
 * /auth/login again (at most once every 30 s, so a broken login cannot loop).
 *
 * Per user: the gateway serves this file with one line in front of it, `window.gatewayUser =
 * {name, canUpload, isAdmin, canShare}` (null when not signed in), computed from the session by the
 * same policy that decides each request. The header shows the user's name, a link to the share
 * links page for users who may share, one to Orthanc Explorer for admins and a "Sign out" button (POST /auth/logout: the gateway ends its session and sends the
 * browser to the identity provider's sign-out, RP-initiated logout); OHIF's Upload button is there
 * only for users who may upload.
 *
 * Option names follow the default app-config.js shipped in @ohif/app 3.13.
 */
window.config = (function () {
  var origin = window.location.origin;
  var user = window.gatewayUser || null;

  function signInAgainOn401(error) {
    if (!error || error.status !== 401) return;
    var last = Number(window.sessionStorage.getItem('gatewayLoginRedirectAt') || 0);
    if (Date.now() - last < 30000) return;
    window.sessionStorage.setItem('gatewayLoginRedirectAt', String(Date.now()));
    var returnTo = window.location.pathname + window.location.search;
    window.location.assign('/auth/login?returnTo=' + encodeURIComponent(returnTo));
  }

  // OHIF shows its own "Logout" menu item only with an `oidc` block. Its documented logo hook
  // (whiteLabeling.createLogoComponentFn, rendered in the header of the study list and the viewer)
  // carries ours instead. The logo area of the viewer's header is itself a link back to the study
  // list: our clicks must not reach it.
  var keepClickHere = function (event) { event.stopPropagation(); };
  var accent = '#5acce6';
  var pill = { color: accent, background: 'transparent', border: '1px solid ' + accent, borderRadius: '4px', padding: '2px 10px', cursor: 'pointer', fontSize: '14px', textDecoration: 'none', lineHeight: '20px' };

  // The same form POST as the gateway's own pages: same-origin, so it passes the gateway's CSRF check.
  function signOutButton(React) {
    var button = React.createElement('button', { type: 'submit', onClick: keepClickHere, style: pill }, 'Sign out');
    return React.createElement('form', { method: 'post', action: '/auth/logout', style: { margin: 0 } }, button);
  }

  function userHeader(React) {
    var items = [];
    if (user) {
      items.push(React.createElement('span', { key: 'name', 'data-cy': 'gateway-user', title: 'Signed in as ' + user.name, style: { color: '#d8e4ee', fontSize: '14px' } }, user.name));
      if (user.canShare) {
        items.push(React.createElement('a', { key: 'share', href: '/share-links', onClick: keepClickHere, style: pill }, 'Share links'));
      }
      if (user.isAdmin) {
        items.push(React.createElement('a', { key: 'admin', href: '/pacs-admin/app/explorer.html', onClick: keepClickHere, style: pill }, 'Orthanc Explorer'));
      }
    }
    items.push(React.createElement(React.Fragment, { key: 'sign-out' }, signOutButton(React)));
    return React.createElement('div', { style: { display: 'flex', alignItems: 'center', gap: '12px' } }, items);
  }

  return {
    name: 'orthanc-oidc-gateway (session)',
    routerBasename: '/',
    extensions: [],
    modes: [],
    customizationService: {},
    showStudyList: true,
    // OHIF 3.13 has no service-worker switch: its init-service-worker.js only unregisters workers.
    investigationalUseDialog: { option: 'never' },
    maxNumberOfWebWorkers: 3,
    showWarningMessageForCrossOrigin: false,
    showCPUFallbackMessage: true,
    showLoadingIndicator: true,
    strictZSpacingForVolumeViewport: true,
    maxNumRequests: { interaction: 100, thumbnail: 5, prefetch: 25 },
    showErrorDetails: 'dev',
    defaultDataSourceName: 'orthanc',
    dataSources: [
      {
        namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
        sourceName: 'orthanc',
        configuration: {
          friendlyName: 'Orthanc through orthanc-oidc-gateway',
          name: 'orthanc',
          // Absolute URLs on this origin, the form OHIF's own configs use.
          qidoRoot: origin + '/pacs/dicom-web',
          wadoRoot: origin + '/pacs/dicom-web',
          wadoUriRoot: origin + '/pacs/wado',
          qidoSupportsIncludeField: false,
          imageRendering: 'wadors',
          thumbnailRendering: 'wadors',
          enableStudyLazyLoad: true,
          supportsFuzzyMatching: false,
          supportsWildcard: true,
          staticWado: false,
          singlepart: 'bulkdata,video',
          bulkDataURI: { enabled: true },
          // STOW-RS: the Upload button only for users the gateway lets upload.
          dicomUploadEnabled: Boolean(user && user.canUpload),
          omitQuotationForMultipartRequest: true,
        },
      },
    ],
    httpErrorHandler: signInAgainOn401,
    whiteLabeling: { createLogoComponentFn: userHeader },
  };
})();
