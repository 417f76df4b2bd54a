// init.js - starts GraphiQL against this server's GraphQL endpoint. The Headers tab is
// open from the start: that is where the access token goes. Headers are not persisted
// (a token stays in this tab's memory only).
(function () {
  'use strict';
  var fetcher = GraphiQL.createFetcher({ url: '/api/v1/graphql' });
  var defaultQuery = [
    '# Medrin GraphQL. Queries that need an account (me, jobs, ...) want an access',
    '# token: put {"Authorization": "Bearer <access token>"} into Headers below',
    '# (POST /api/v1/auth/login gives one). The schema is in the Docs pane.',
    '',
    '{',
    '  me {',
    '    email',
    '  }',
    '}',
    '',
  ].join('\n');
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: '{}',
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
